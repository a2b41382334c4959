/**
 * The one module that holds node-postgres (`pg`): a connection pool, statements (prepared once
 * per connection when asked), and transactions on one pooled connection. Everything else in
 * postgres/ runs SQL through the small `Db` interface below.
 *
 * Why node-postgres and not postgres.js (issue 10 asks for the driver chosen by measurement):
 * postgres.js 3.4.9, its newest release, crashes the process with an uncatchable
 * `TypeError: Cannot read properties of null (reading 'write')` when the server closes a
 * connection while a write is scheduled (porsager/postgres#1154, #1208): a race, which one
 * restart under three pollers does not always hit, three restarts did. node-postgres reports a lost
 * connection as an error of the query (and an 'error' event, handled here), so a restart is a
 * temporary failure that the store retries (test/scale/pollers.test.ts restarts the server under
 * three pollers). On speed, scripts/bench/pg-driver.mjs measures the two drivers pair by pair in
 * one run: node-postgres took 0.95x postgres.js's time for point lookups (1.11x in an earlier
 * run) and 0.82x for an ingest batch (0.86x earlier) — no reason to keep the driver that crashes.
 *
 * How a lost connection shows: a SQLSTATE from the server when it said why (57P01 on a fast
 * shutdown), a Node socket error (ECONNREFUSED while it is down), or one of node-postgres's own
 * errors, which carry no code; those are given the code CONNECTION_CLOSED here (ConnectionLost),
 * so that errors.ts can tell a temporary failure from a bug by its code alone.
 */
import type pg from 'pg';
import { createHash } from 'node:crypto';

export type Row = Record<string, unknown>;

export interface Result {
  rows: Row[];
  /** Rows inserted, updated or deleted (or returned, for a SELECT). */
  rowCount: number;
}

/** Where statements run: the pool (each one on its own, autocommitted) or a transaction's connection. */
export interface Db {
  /** Runs one statement; `prepare` keeps it prepared on the connection (parsed and planned once). */
  query(text: string, params?: readonly unknown[], prepare?: boolean): Promise<Result>;
}

/** node-postgres's connection failures (they have no code): the connection went away or never came. */
const LOST_MESSAGE = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed)/;

/** A connection lost or not made, as node-postgres reports it without a code. */
export class ConnectionLost extends Error {
  readonly code = 'CONNECTION_CLOSED';
  constructor(cause: Error) {
    super(cause.message, { cause });
    this.name = 'ConnectionLost';
  }
}

function driverError(e: unknown): unknown {
  if (e instanceof Error && (e as { code?: unknown }).code === undefined && LOST_MESSAGE.test(e.message)) return new ConnectionLost(e);
  return e;
}

/** Prepared statement names by text: the same name for the same text on every connection. */
const NAMES = new Map<string, string>();

function statementName(text: string): string {
  let name = NAMES.get(text);
  if (name === undefined) NAMES.set(text, (name = 's' + createHash('sha256').update(text).digest('hex').slice(0, 24)));
  return name;
}

function statement(text: string, params: readonly unknown[], prepare: boolean): pg.QueryConfig {
  if (!prepare) return { text, values: params as unknown[] };
  return { name: statementName(text), text, values: params as unknown[] };
}

async function run(target: pg.Pool | pg.PoolClient | pg.Client, text: string, params: readonly unknown[] = [], prepare = false): Promise<Result> {
  try {
    const r = await target.query(statement(text, params, prepare));
    return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 };
  } catch (e) {
    throw driverError(e);
  }
}

/**
 * A connection's statements one after another: callers may issue several at once
 * (Promise.all of independent writes), but node-postgres deprecates queueing on a client that
 * is busy (removed in pg 9), so each waits here for the one before it to finish.
 */
function serial(client: pg.PoolClient | pg.Client): Db {
  let last: Promise<unknown> = Promise.resolve();
  return {
    query(text, params, prepare) {
      const next = last.then(() => run(client, text, params, prepare));
      last = next.catch(() => {});
      return next;
    },
  };
}

type Driver = typeof pg;
let loading: Promise<Driver> | undefined;

/**
 * node-postgres on first use: a process on SQLite (store/open.ts loads this module either way)
 * never needs it, and `import -` runs once per delivered message, where start-up time counts.
 */
function driver(): Promise<Driver> {
  return (loading ??= import('pg').then((m) => m.default));
}

const INT8_OID = 20;

/** int8 (times in ms, counts) as JS numbers, as SQLite returns them; everything else as node-postgres parses it. */
function types(d: Driver): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? (v: string) => Number(v) : d.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
  };
}

export type DriverConfig = Omit<pg.ClientConfig, 'types'>;

/** One statement on a connection of its own (the migrator's, under its session lock). */
export async function withClient<T>(config: DriverConfig, fn: (client: pg.Client, db: Db) => Promise<T>): Promise<T> {
  const d = await driver();
  const client = new d.Client({ ...config, types: types(d) });
  // A connection the server drops is reported by the query that was running; without a listener
  // the client's 'error' event would be thrown as an uncaught exception.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw driverError(e);
  }
  try {
    return await fn(client, serial(client));
  } finally {
    await client.end().catch(() => {});
  }
}

/** A pool of connections to one database. */
export class Pool implements Db {
  private readonly pool: Promise<pg.Pool>;

  constructor(config: DriverConfig, max: number, idleTimeoutMs: number) {
    this.pool = driver().then((d) => {
      const pool = new d.Pool({ ...config, types: types(d), max, idleTimeoutMillis: idleTimeoutMs });
      // An idle connection that the server closes (a restart, a fail-over, idle_session_timeout)
      // is dropped from the pool, which then emits 'error'; the next statement opens a new
      // connection, so there is nothing to do — but an EventEmitter without a listener would
      // throw it as an uncaught exception and end the process.
      pool.on('error', () => {});
      return pool;
    });
  }

  async query(text: string, params?: readonly unknown[], prepare?: boolean): Promise<Result> {
    return run(await this.pool, text, params, prepare);
  }

  /**
   * A prepared statement's rows as arrays of column values, in SELECT order (the lookup's hot
   * path): node-postgres then builds no object with a property per column for every row.
   */
  async values(text: string, params: readonly unknown[]): Promise<unknown[][]> {
    try {
      const r = await (await this.pool).query<unknown[]>({ name: statementName(text), text, values: params as unknown[], rowMode: 'array' });
      return r.rows;
    } catch (e) {
      throw driverError(e);
    }
  }

  /**
   * `begin` (BEGIN with its options), fn's statements and COMMIT on one connection; ROLLBACK
   * when fn throws. `onCommit` is called just before COMMIT is sent: from then on a failure
   * leaves it unknown whether the transaction committed.
   */
  async transaction<T>(begin: string, fn: (tx: Db) => Promise<T>, onCommit: () => void): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await (await this.pool).connect();
    } catch (e) {
      throw driverError(e);
    }
    let lost: Error | undefined;
    // While checked out, the pool does not listen to the client: a connection cut would be an
    // uncaught 'error' event. The statements in flight fail on their own; remember it to drop
    // the connection instead of returning it to the pool.
    const onError = (e: Error): void => {
      lost ??= e;
    };
    client.on('error', onError);
    const tx = serial(client);
    try {
      await tx.query(begin);
      const result = await fn(tx);
      onCommit();
      await tx.query('COMMIT');
      return result;
    } catch (e) {
      if (!lost) {
        await tx.query('ROLLBACK').catch((x: unknown) => {
          lost = x instanceof Error ? x : new Error(String(x));
        });
      }
      throw e;
    } finally {
      client.off('error', onError);
      // release(error) closes the connection rather than handing a broken one to the next caller.
      client.release(lost);
    }
  }

  async end(): Promise<void> {
    await (await this.pool).end();
  }
}
