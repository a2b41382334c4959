/**
 * The PostgreSQL set-up of a test file, written once: a throwaway directory, one server started
 * before the file's tests and stopped (its directory deleted) after them. Kept apart from
 * postgres.ts, which imports only node: modules so that scripts/bench can run a built copy of it
 * outside vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';
import { startPostgres, type PostgresServer, type StartPostgresOptions } from './postgres.js';
import { configSchema } from '../../src/config/index.js';
import { openApp, silentLogger, type AppContext } from '../../src/app/index.js';

/** initdb and the first start take a second when idle, far longer on a loaded shared machine. */
const POSTGRES_START_TIMEOUT_MS = 120_000;

export interface PostgresSuite {
  /** This file's throwaway directory, deleted after its last test. */
  readonly dir: string;
  /** This file's server (started in beforeAll: read it inside hooks and tests, not at load). */
  readonly server: PostgresServer;
}

/** Registers beforeAll/afterAll for one server per test file and a temp dir named `prefix…`. */
export function withPostgres(prefix: string, options: StartPostgresOptions = {}): PostgresSuite {
  const t = tempDir(prefix);
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres(options);
  }, POSTGRES_START_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
    t.cleanup();
  });
  return {
    dir: t.dir,
    get server(): PostgresServer {
      if (!server) throw new Error('withPostgres: the server starts in beforeAll; read it inside a hook or test');
      return server;
    },
  };
}

/** One census backend for tests that run the same checks on both. */
export interface StoreKind {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty, migrated census of this kind, with `config` (e.g. rulesDirs) and `overrides`. */
  open(overrides?: Record<string, unknown>): Promise<AppContext>;
}

/** A SQLite file and a fresh PostgreSQL database of `pg`, each in its own directory under pg.dir. */
export function storeKinds(pg: PostgresSuite, config: Record<string, unknown>): StoreKind[] {
  let seq = 0;
  const freshDir = (tag: string): string => {
    const dir = join(pg.dir, `${tag}${++seq}`);
    mkdirSync(dir);
    return dir;
  };
  return [
    {
      name: 'sqlite',
      async open(overrides = {}) {
        const dir = freshDir('s');
        return openApp({ config: configSchema.parse({ db: join(dir, 'census.db'), ...config, ...overrides }), logger: silentLogger() });
      },
    },
    {
      name: 'postgres',
      async open(overrides = {}) {
        const dir = freshDir('p');
        const db = await pg.server.createDatabase();
        const ctx = openApp({ config: configSchema.parse({ db, erasureKeyFile: join(dir, 'erasure.key'), ...config, ...overrides }), logger: silentLogger() });
        await ctx.store.ready();
        return ctx;
      },
    },
  ];
}
