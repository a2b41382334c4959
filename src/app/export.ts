import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ExportFilter, Store } from '../store/index.js';
import { EXPORT_COLUMNS } from '../store/index.js';
import type { PolicyOptions } from '../policy/index.js';
import { refreshStale } from './lookup.js';

export const CSV_HEADER = EXPORT_COLUMNS.join(',') + '\r\n';

/** Chunks of the CSV export (header row first); constant memory for millions of rows. */
export function* exportCsv(store: Store, policy: PolicyOptions, filter: ExportFilter, now = Date.now()): Generator<string> {
  // Decisions that expired by time are re-decided first: the CSV is what gets acted upon.
  if (!store.readonly && store.withLowMemory(() => refreshStale(store, policy, now)) > 0) store.checkpoint();
  yield CSV_HEADER;
  yield* store.exportCsvChunks(filter);
}

/** Writes the CSV export to a stream, awaiting drain so a slow reader bounds memory. */
export async function writeCsv(out: Writable, store: Store, policy: PolicyOptions, filter: ExportFilter): Promise<number> {
  let bytes = 0;
  for (const chunk of exportCsv(store, policy, filter)) {
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  return bytes;
}
