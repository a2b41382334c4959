/**
 * PostgreSQL's side of store/seed.ts: INSERT … SELECT over generate_series, in one transaction
 * (seedSynthetic) or one per copy (growByCopies), then ANALYZE so that the planner knows the
 * tables' new sizes before the first lookup.
 */
import { OBSERVATION_COLUMNS, STORED_ADDRESS_COLUMNS } from '../rows.js';
import { COPY_ADDRESS_PREFIX, MONTH_COLUMNS, copySelect, syntheticAddressColumns, type SyntheticCensus } from '../seed-sql.js';
import type { Db } from './driver.js';

/** Runs `fn` in one transaction (the store's, with its retries and error mapping). */
export type InTransaction = <T>(doing: string, fn: (tx: Db) => Promise<T>) => Promise<T>;

/** A copy's source keys: `copy<digits>:`. */
const COPY_KEY_RE = `^${COPY_ADDRESS_PREFIX}[0-9]+:`;

export async function seedSyntheticPostgres(db: Db, inTransaction: InTransaction, spec: SyntheticCensus): Promise<number> {
  const cols = syntheticAddressColumns(spec.shape, spec.now);
  await inTransaction('seeding', async (tx) => {
    // bigint: i * 7919 leaves int4's range from about 271k addresses on.
    await tx.query(
      `INSERT INTO addresses (${cols.map(([c]) => c).join(', ')})
       SELECT ${cols.map(([, e]) => e).join(', ')}
       FROM (SELECT i, 'user' || lpad(i::text, 7, '0') || '@customer' || lpad((i % 997)::text, 3, '0') || '.example' AS a
             FROM generate_series(0::bigint, ${spec.addresses - 1}) AS i) AS n`,
    );
    if (spec.shape === 'lookup') {
      // One client per address, in the row's list (store/clients.ts's tuple; json_build_array's text, as the 0002 backfill writes it).
      await tx.query(`UPDATE addresses SET clients = json_build_array(json_build_array(family, product, version, NULL, smime, messages, last_seen))::text`);
    }
  });
  // VACUUM too, as autovacuum would have by the time a census this size is read: it sets the
  // visibility map and hint bits that the first reads would otherwise write.
  await db.query('VACUUM (ANALYZE) addresses');
  return spec.addresses;
}

export async function growByCopiesPostgres(db: Db, inTransaction: InTransaction, target: number): Promise<number> {
  const count = async (): Promise<number> => Number((await db.query('SELECT count(*) AS n FROM observations')).rows[0]!.n);
  let have = await count();
  if (have >= target) return have;
  const [t] = (
    await db.query(
      `SELECT count(*) FILTER (WHERE source_key !~ '${COPY_KEY_RE}') AS template,
              max(substring(source_key FROM '^${COPY_ADDRESS_PREFIX}([0-9]+):')::int) AS last
       FROM observations`,
    )
  ).rows;
  const template = Number(t!.template);
  if (template === 0) return have;
  const obs = OBSERVATION_COLUMNS.join(', ');
  const templateRows = `SELECT id, address FROM observations WHERE source_key !~ '${COPY_KEY_RE}'`;
  for (let j = Number(t!.last ?? 0) + 1; have < target; j++) {
    const need = Math.min(template, target - have);
    // A partial copy takes the template's first rows by id, and the whole state of their addresses.
    const rows = need === template ? templateRows : `${templateRows} ORDER BY id LIMIT ${need}`;
    await inTransaction('seeding', async (tx) => {
      await tx.query(`CREATE TEMP TABLE seed_rows ON COMMIT DROP AS ${rows}`);
      await tx.query(`INSERT INTO observations (${obs}) SELECT ${copySelect(OBSERVATION_COLUMNS, j)} FROM observations WHERE id IN (SELECT id FROM seed_rows)`);
      const of = 'WHERE address IN (SELECT address FROM seed_rows) ON CONFLICT DO NOTHING';
      await tx.query(`INSERT INTO addresses (${STORED_ADDRESS_COLUMNS.join(', ')}) SELECT ${copySelect(STORED_ADDRESS_COLUMNS, j)} FROM addresses ${of}`);
      await tx.query(`INSERT INTO address_months (${MONTH_COLUMNS.join(', ')}) SELECT ${copySelect(MONTH_COLUMNS, j)} FROM address_months ${of}`);
    });
    have += need;
  }
  await db.query('ANALYZE observations, addresses, address_months');
  return count();
}
