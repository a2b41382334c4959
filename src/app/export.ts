import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { CensusStore, ExportFilter } from '../store/index.js';
import { EXPORT_COLUMNS } from '../store/index.js';
import type { PolicyOptions } from '../policy/index.js';
import { refreshStale } from './refresh.js';

export const CSV_HEADER = EXPORT_COLUMNS.join(',') + '\r\n';

/** Chunks of the CSV export (header row first); constant memory for millions of rows. */
export async function* exportCsv(store: CensusStore, policy: PolicyOptions, filter: ExportFilter, now = Date.now()): AsyncGenerator<string> {
  if (!store.readonly) await refreshStale(store, policy, now);
  yield CSV_HEADER;
  // for-await instead of yield*: the same pull, one page at a time.
  for await (const chunk of store.exportCsv(filter)) yield chunk;
}

/** Writes the CSV export to a stream, awaiting drain so a slow reader bounds memory. */
export async function writeCsv(out: Writable, store: CensusStore, policy: PolicyOptions, filter: ExportFilter): Promise<number> {
  let bytes = 0;
  for await (const chunk of exportCsv(store, policy, filter)) {
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  return bytes;
}
