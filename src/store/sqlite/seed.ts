/** SQLite's side of store/seed.ts: each seeding step is one transaction of INSERT … SELECT. */
import { OBSERVATION_COLUMNS, STORED_ADDRESS_COLUMNS } from '../rows.js';
import { COPY_ADDRESS_PREFIX, MONTH_COLUMNS, copySelect, syntheticAddressColumns, type SyntheticCensus } from '../seed-sql.js';
import type { SqliteDb } from './open.js';

/** A copy's source keys: `copy<digits>:` (GLOB is case-sensitive, and uses the source_key index). */
const COPY_KEY_GLOB = `${COPY_ADDRESS_PREFIX}[0-9]*:*`;

/** seedSynthetic's rows: a recursive CTE counts i, one INSERT … SELECT per table, one transaction. */
export function seedSyntheticSqlite(db: SqliteDb, spec: SyntheticCensus): number {
  const cols = syntheticAddressColumns(spec.shape, spec.now);
  db.transaction(() => {
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO addresses (${cols.map(([c]) => c).join(', ')})
       SELECT ${cols.map(([, e]) => e).join(', ')} FROM (SELECT i, printf('user%07d@customer%03d.example', i, i % 997) AS a FROM n)`,
    ).run(spec.addresses - 1);
    if (spec.shape === 'lookup') {
      // One client per address, in the row's list (store/clients.ts's tuple, compact JSON as ingest writes it).
      db.exec(`UPDATE addresses SET clients = '[' || json_array(family, product, version, NULL, smime, messages, last_seen) || ']'`);
    }
  }).immediate();
  db.pragma('wal_checkpoint(TRUNCATE)');
  return spec.addresses;
}

/** growByCopies on SQLite: one transaction per copy, the template's ids kept in a temp table. */
export function growByCopiesSqlite(db: SqliteDb, target: number): number {
  const count = (): number => db.prepare('SELECT count(*) FROM observations').pluck().get() as number;
  let have = count();
  if (have >= target) return have;
  db.exec(`DROP TABLE IF EXISTS temp.seed_template;
    CREATE TEMP TABLE seed_template AS SELECT id, address FROM observations WHERE source_key NOT GLOB '${COPY_KEY_GLOB}' ORDER BY id;`);
  try {
    const template = db.prepare('SELECT count(*) FROM temp.seed_template').pluck().get() as number;
    if (template === 0) return have;
    const last = db
      .prepare(`SELECT max(CAST(substr(source_key, ${COPY_ADDRESS_PREFIX.length + 1}, instr(source_key, ':') - ${COPY_ADDRESS_PREFIX.length + 1}) AS INTEGER)) FROM observations WHERE source_key GLOB '${COPY_KEY_GLOB}'`)
      .pluck()
      .get() as number | null;
    const obs = OBSERVATION_COLUMNS.join(', ');
    for (let j = (last ?? 0) + 1; have < target; j++) {
      const need = Math.min(template, target - have);
      // A partial copy takes the template's first rows by id, and the whole state of their addresses.
      const ids = need === template ? 'SELECT id FROM temp.seed_template' : `SELECT id FROM temp.seed_template ORDER BY id LIMIT ${need}`;
      const addresses = need === template ? 'SELECT address FROM temp.seed_template' : `SELECT address FROM temp.seed_template WHERE id IN (${ids})`;
      db.transaction(() => {
        db.exec(
          `INSERT INTO observations (${obs}) SELECT ${copySelect(OBSERVATION_COLUMNS, j)} FROM observations WHERE id IN (${ids});
           INSERT OR IGNORE INTO addresses (${STORED_ADDRESS_COLUMNS.join(', ')}) SELECT ${copySelect(STORED_ADDRESS_COLUMNS, j)} FROM addresses WHERE address IN (${addresses});
           INSERT OR IGNORE INTO address_months (${MONTH_COLUMNS.join(', ')}) SELECT ${copySelect(MONTH_COLUMNS, j)} FROM address_months WHERE address IN (${addresses});`,
        );
      }).immediate();
      have += need;
    }
  } finally {
    db.exec('DROP TABLE IF EXISTS temp.seed_template');
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  return count();
}
