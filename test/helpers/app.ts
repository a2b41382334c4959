import Database from 'better-sqlite3';
import { join } from 'node:path';
import { configSchema, type Config } from '../../src/config/index.js';
import { openApp, silentLogger, type AppContext } from '../../src/app/index.js';
import type { SourceItem } from '../../src/core/index.js';

/** An AppContext on a real SQLite file in `dir`, with a validated config (overrides merged). */
export function openTestApp(dir: string, overrides: Record<string, unknown> = {}, name = 'census.db'): AppContext {
  const config: Config = configSchema.parse({ db: join(dir, name), ...overrides });
  return openApp({ config, logger: silentLogger() });
}

/** A minimal RFC 5322 header block. */
export function headerBlock(fields: Record<string, string | string[]>, body = 'hello\n'): Buffer {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);
}

/**
 * One message as a source yields it: From, a Date `daysAgo` days before `now`, a Message-ID
 * made from `key`, and an X-Mailer (plus `extra` header fields).
 */
export function mailItem(now: number, key: string, from: string, mailer: string, daysAgo: number, extra: Record<string, string> = {}): SourceItem {
  const date = new Date(now - daysAgo * 86_400_000);
  return {
    sourceKey: key,
    headerBytes: headerBlock({ From: from, Date: date.toUTCString(), 'Message-ID': `<${key}@test>`, 'X-Mailer': mailer, ...extra }),
    receivedAt: date,
  };
}

/**
 * A second, raw connection to a test app's SQLite file, for assertions on stored rows and for
 * preparing edge cases the pipeline would never write. The app itself holds no driver handle.
 */
export function rawSqlite(ctx: AppContext): Database.Database {
  if (ctx.store.dialect !== 'sqlite') throw new Error('rawSqlite: not a SQLite store');
  const db = new Database(ctx.store.location);
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Rows of one statement on a raw connection (opened and closed around it). */
export function rawQuery<T = Record<string, unknown>>(ctx: AppContext, sql: string, ...params: unknown[]): T[] {
  const db = rawSqlite(ctx);
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Runs SQL on a raw connection (opened and closed around it). */
export function rawExec(ctx: AppContext, fn: (db: Database.Database) => void): void {
  const db = rawSqlite(ctx);
  try {
    fn(db);
  } finally {
    db.close();
  }
}

/** Every chunk of an async iterable, joined. */
export async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let s = '';
  for await (const c of chunks) s += c;
  return s;
}
