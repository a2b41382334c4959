import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { isPostgresUrl, openStore, redactDbUrl } from '../../src/store/index.js';
import { pgConnection } from '../../src/store/postgres/connection.js';
import { loadConfig } from '../../src/config/index.js';
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

  it('redacts the password of a second URL pasted into the database name, and of a postgres: URL without its //', () => {
    expect(redactDbUrl('postgres://u:s3cret@127.0.0.1:1/postgres://v:t0psecret@h/x')).not.toMatch(/s3cret|t0psecret/);
    expect(redactDbUrl('postgresql:/u:s3cret@h/x')).not.toContain('s3cret');
    expect(redactDbUrl('postgresql:u:s3cret@h/x')).not.toContain('s3cret');
  });

  it('refuses a malformed PostgreSQL URL with E_CONFIG that names the part, never its value', () => {
    const cases: Array<[string, RegExp]> = [
      ['postgres://u:s3%cret@127.0.0.1:1/x', /password is not valid percent-encoding/],
      ['postgres://u:s3cret@127.0.0.1:1/x%zz', /database name is not valid percent-encoding/],
      ['postgres://u%zz:s3cret@127.0.0.1:1/x', /user name is not valid percent-encoding/],
      ['postgres://u:s3cret@127.0.0.1:1/postgres://v:s3cret@h/x', /looks like a second URL/],
    ];
    for (const [url, why] of cases) {
      let err: unknown;
      try {
        pgConnection(url, {});
      } catch (e) {
        err = e;
      }
      expect(err, url).toMatchObject({ code: 'E_CONFIG' });
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).not.toContain('s3cret');
    }
  });

  it('a postgres: URL without its // is a config error naming db, from a file, env or flag — never a SQLite file', () => {
    const t = tempDir();
    try {
      const file = join(t.dir, 'census.yaml');
      writeFileSync(file, 'db: "postgresql:/census:s3cret@db.internal/census"\n');
      let err: unknown;
      try {
        loadConfig({ configFile: file, env: {} });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'E_CONFIG' });
      expect((err as Error).message).toMatch(/db: .*postgres:\/\//);
      expect((err as Error).message).not.toContain('s3cret');
      expect(() => openStore('postgresql:/census@db.internal/census')).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));

      const r = spawnSync(process.execPath, [CLI, 'stats'], {
        cwd: t.dir,
        encoding: 'utf8',
        env: { ...process.env, CENSUS_LOG_LEVEL: 'warn', CENSUS_DB: 'postgres:census:s3cret@db.internal/census' },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).not.toBe(0);
      noStackOnFailure(r, process.env);
      expect(r.stderr).toMatch(/CENSUS_DB: db: a PostgreSQL URL starts with postgres:\/\//);
      expect(r.stderr).not.toContain('s3cret');
      expect(readdirSync(t.dir)).toEqual(['census.yaml']);
    } finally {
      t.cleanup();
    }
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
