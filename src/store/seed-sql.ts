/**
 * The rows store/seed.ts builds, as SQL both dialects run (integer arithmetic, CASE, ||): the
 * synthetic shapes' column values and the renaming of a copy. Separate from seed.ts so that the
 * dialect folders can use it without importing the stores.
 */
import { AppError } from '../core/index.js';

/** What seedSynthetic builds. */
export interface SyntheticCensus {
  shape: 'lookup' | 'export';
  /** How many addresses (1 to MAX_SYNTHETIC_ADDRESSES). */
  addresses: number;
  /** The time the decisions are relative to (ms): expired ones ended before it, the rest after. */
  now: number;
}

/** The share of stored decisions that have expired at `now`, per shape. */
export const SYNTHETIC_EXPIRED_SHARE = { lookup: 0.1, export: 0.02 } as const;

/** The prefix of copy j's addresses (`copy3.` + the template's address) and of its source keys (`copy3:`). */
export const COPY_ADDRESS_PREFIX = 'copy';

const DAY_MS = 86_400_000;

/**
 * The address columns and, for each, its value as an SQL expression of the integer `i` and the
 * address `a` — the same text in both dialects (integer arithmetic, CASE, ||).
 */
export function syntheticAddressColumns(shape: SyntheticCensus['shape'], now: number): Array<[string, string]> {
  if (!Number.isSafeInteger(now)) throw new AppError('E_CONFIG', `seed: now must be a time in ms, got ${now}`);
  const expired = (share: number, ago: number) => `CASE WHEN (i * 7919) % 1000 < ${share * 1000} THEN ${now - ago} ELSE`;
  if (shape === 'lookup') {
    return [
      ['address', 'a'],
      ['first_seen', `${now - DAY_MS}`],
      ['last_seen', `${now}`],
      ['messages', '1 + i % 7'],
      ['last_verify_at', `${now}`],
      ['family', `CASE i % 4 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' ELSE 'outlook-windows' END`],
      ['product', `CASE i % 4 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' ELSE 'Microsoft Outlook' END`],
      ['version', `'115.0'`],
      ['smime', `CASE i % 4 WHEN 2 THEN 'tolerate' ELSE 'verify' END`],
      ['client_at', `${now}`],
      ['recommendation', `CASE i % 4 WHEN 2 THEN 'do-not-sign' ELSE 'sign' END`],
      ['reason', `'all evidence of the last 180 days is from clients that verify S/MIME'`],
      ['decided_until', `${expired(SYNTHETIC_EXPIRED_SHARE.lookup, 3_600_000)} ${now + 100 * DAY_MS} END`],
      ['key_changed', '0'],
    ];
  }
  const seen = `${now} - (i % 400) * ${DAY_MS}`;
  return [
    ['address', 'a'],
    ['first_seen', '1700000000000'],
    ['last_seen', seen],
    ['messages', '1 + i % 7'],
    ['last_verify_at', `CASE WHEN i % 5 IN (0, 1, 3) THEN ${seen} END`],
    ['family', `CASE i % 5 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' WHEN 3 THEN 'outlook-windows' ELSE NULL END`],
    ['product', `CASE i % 5 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' WHEN 3 THEN 'Microsoft Outlook' ELSE NULL END`],
    ['version', `CASE i % 3 WHEN 0 THEN '115.0' ELSE '16.0' END`],
    ['smime', `CASE i % 5 WHEN 2 THEN 'tolerate' WHEN 4 THEN 'unknown' ELSE 'verify' END`],
    ['client_at', seen],
    ['recommendation', `CASE i % 5 WHEN 2 THEN 'do-not-sign' WHEN 4 THEN 'unknown' ELSE 'sign' END`],
    ['reason', `CASE i % 5 WHEN 2 THEN 'seen 2026-10-01 with Gmail, "webmail" (S/MIME: tolerate)' ELSE 'all evidence of the last 180 days is from clients that verify S/MIME' END`],
    ['decided_until', `${expired(SYNTHETIC_EXPIRED_SHARE.export, 3_600_000)} ${now + 30 * DAY_MS} END`],
    ['key_changed', '0'],
  ];
}

/** The columns of the per-address table a copy takes along besides addresses (their client lists in the row) and observations. */
export const MONTH_COLUMNS = ['month', 'address', 'messages', 'signable'] as const;

/** `columns` as a SELECT list with `address` (and `source_key`) renamed for copy `j`. */
export function copySelect(columns: readonly string[], j: number): string {
  if (!Number.isSafeInteger(j) || j < 1) throw new AppError('E_CONFIG', `seed: bad copy number ${j}`);
  return columns
    .map((c) => (c === 'address' ? `'${COPY_ADDRESS_PREFIX}${j}.' || address` : c === 'source_key' ? `'${COPY_ADDRESS_PREFIX}${j}:' || source_key` : c))
    .join(', ');
}
