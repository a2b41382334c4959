import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { AppError } from '../core/index.js';
import type { Config } from '../config/index.js';
import type { CensusStore, ExportFilter, StaleDecisions } from '../store/index.js';
import { EXPORT_COLUMNS } from '../store/index.js';
import { recommend, type AddressState, type PolicyOptions } from '../policy/index.js';
import { openCensusStore } from './open-store.js';

/** A `since` filter value: YYYY-MM-DD (UTC midnight) or an ISO date-time; `name` is how the caller calls it in the error. */
export function parseSince(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? v + 'T00:00:00Z' : v);
  if (!Number.isFinite(t)) throw new AppError('E_USAGE', `${name}: not a date: ${JSON.stringify(v)} (use YYYY-MM-DD)`);
  return t;
}

export const CSV_HEADER = EXPORT_COLUMNS.join(',') + '\r\n';

/**
 * Chunks of the CSV export (header row first); constant memory for millions of rows. The CSV is
 * what gets acted upon, so a decision that expired by `now` is written as policy decides it now
 * (in the stream, also from a read-only store); the stored decision is left for the next
 * writer, as lookups leave it.
 */
export async function* exportCsv(store: CensusStore, policy: PolicyOptions, filter: ExportFilter, now = Date.now()): AsyncGenerator<string> {
  yield CSV_HEADER;
  // for-await instead of yield*: the same pull, one page at a time.
  for await (const chunk of store.exportCsv(filter, decidedAt(policy, now))) yield chunk;
}

/** Expired decisions as policy decides them at `now` (the export's re-decision in the stream). */
function decidedAt(policy: PolicyOptions, now: number): StaleDecisions {
  return { now, decide: (s: AddressState) => recommend(s, now, policy) };
}

/**
 * Writes the CSV export to a stream, awaiting drain so a slow reader bounds memory; returns the
 * bytes written. From a store that gives the export as bytes (SQLite), those are written as they
 * come: the same bytes as exportCsv's strings, without decoding and re-encoding every page.
 */
export async function writeCsv(out: Writable, store: CensusStore, policy: PolicyOptions, filter: ExportFilter, now = Date.now()): Promise<number> {
  if (!store.exportCsvBytes) {
    let bytes = 0;
    for await (const chunk of exportCsv(store, policy, filter, now)) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    return bytes;
  }
  let bytes = CSV_HEADER.length;
  if (!out.write(CSV_HEADER)) await once(out, 'drain');
  for await (const chunk of store.exportCsvBytes(filter, decidedAt(policy, now))) {
    bytes += chunk.byteLength;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  return bytes;
}

/**
 * The configured census as CSV (the CLI's `export`): opens only the store (an export needs no
 * rules, parsers or CMS code), then the output — so a census that cannot be opened leaves no
 * empty output file behind — and writes every row.
 */
export async function exportCensus(config: Config, filter: ExportFilter, output: () => Writable | Promise<Writable>): Promise<number> {
  const store = openCensusStore(config);
  try {
    await store.ready();
    return await writeCsv(await output(), store, config.policy, filter);
  } finally {
    await store.close();
  }
}
