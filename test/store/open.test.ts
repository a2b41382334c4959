import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { isPostgresUrl, openStore, redactDbUrl } from '../../src/store/index.js';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';

const CLI = builtCli();

describe('openStore: what `db` selects', () => {
  it('postgres:// and postgresql:// (any case) select PostgreSQL; paths and other URLs do not', () => {
    for (const u of ['postgres://h/db', 'postgresql://u@h:5432/db', 'POSTGRES://h/db']) expect(isPostgresUrl(u)).toBe(true);
    for (const p of ['./data/census.db', '/var/lib/census.db', ':memory:', 'mysql://h/db', 'postgres:/h/db']) expect(isPostgresUrl(p)).toBe(false);
    expect(() => openStore('mysql://h/db')).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });

  it('never shows a password from the URL', () => {
    expect(redactDbUrl('postgres://census:s3cret@db.internal:5432/census')).toBe('postgres://census:***@db.internal:5432/census');
    expect(redactDbUrl('./census.db')).toBe('./census.db');
  });

  it('a postgres:// --db never becomes a SQLite file path (the CLI fails and writes nothing)', () => {
    const t = tempDir();
    const keys = tempDir();
    try {
      // Port 1 on loopback: nothing listens, so no PostgreSQL can answer either.
      const r = spawnSync(process.execPath, [CLI, '--db', 'postgres://census@127.0.0.1:1/census', 'stats'], {
        cwd: t.dir,
        encoding: 'utf8',
        env: { ...process.env, CENSUS_LOG_LEVEL: 'warn', CENSUS_ERASURE_KEY_FILE: join(keys.dir, 'erasure.key') },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).not.toBe(0);
      noStackOnFailure(r, process.env);
      expect(r.stderr).toMatch(/postgres/i);
      expect(readdirSync(t.dir)).toEqual([]);
    } finally {
      t.cleanup();
      keys.cleanup();
    }
  });
});
