/**
 * Point lookups coalesced into one statement: the lookups asked for in one event-loop turn, and
 * those asked for while the earlier batches are in flight, go to the server together. Under the
 * HTTP GET's load (scripts/bench/pg-store.mjs, 50 connections) a statement per lookup cost the
 * server process ~176 µs of CPU per request, most of it in the socket writes of each statement
 * to PostgreSQL (about a quarter of the process's CPU in `writev`) and node-postgres's per-result
 * work (row description, parsers, query config); one statement for many lookups pays those once.
 *
 * Each lookup keeps its own semantics: its own address, its own `now` (the expired-decision test)
 * and its own `clients` option; unknown addresses get null; a failure of a batch's statement
 * rejects the lookups of that batch only. A lookup's statement is sent after it was asked for,
 * so it reads a snapshot begun after that, and sees every write committed before.
 */
import type { LookupOptions } from '../contract.js';

/** One lookup waiting for its batch. */
interface Waiter<R> {
  address: string;
  now: number;
  clients: boolean;
  resolve: (row: R | null) => void;
  reject: (e: unknown) => void;
}

/** The parameters of one batch's statement: parallel arrays, one entry per lookup. */
export interface LookupBatch {
  addresses: string[];
  nows: number[];
  clients: boolean[];
}

/**
 * Runs a batch's statement and returns, per lookup in batch order, its row or null. A rejection
 * rejects every lookup of the batch.
 */
export type RunBatch<R> = (batch: LookupBatch) => Promise<Array<R | null>>;

/**
 * Lookups per statement at most. Bounds one batch's statement (its parameters and the rows it
 * returns, ~1 KiB each with a client list) and the time the requests behind a long queue wait
 * for their answers; at 50 concurrent HTTP requests the batches stay far below it.
 */
export const MAX_LOOKUP_BATCH = 256;

/**
 * Statements in flight at once. While they run, new lookups gather for the next batch, so the
 * batches grow with the load instead of the number of statements; more than one keeps the
 * server's work of one batch overlapping with the transfer of the next.
 */
export const MAX_LOOKUP_BATCHES_IN_FLIGHT = 2;

export class LookupBatcher<R> {
  private queue: Array<Waiter<R>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly runBatch: RunBatch<R>,
    private readonly maxBatch = MAX_LOOKUP_BATCH,
    private readonly maxInFlight = MAX_LOOKUP_BATCHES_IN_FLIGHT,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a whole number of at least 1, not ${String(maxBatch)}`);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be a whole number of at least 1, not ${String(maxInFlight)}`);
  }

  /** The row of one address, read in the next batch. */
  lookup(address: string, o: LookupOptions): Promise<R | null> {
    return new Promise<R | null>((resolve, reject) => {
      this.queue.push({ address, now: o.now, clients: o.clients, resolve, reject });
      this.schedule();
    });
  }

  /**
   * After the turn: the requests a turn reads are all asked for before setImmediate runs, so
   * they share one statement; a lone lookup waits one setImmediate.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) this.send(this.queue.splice(0, this.maxBatch));
  };

  private send(waiters: Array<Waiter<R>>): void {
    const batch: LookupBatch = { addresses: [], nows: [], clients: [] };
    for (const w of waiters) {
      batch.addresses.push(w.address);
      batch.nows.push(w.now);
      batch.clients.push(w.clients);
    }
    this.inFlight++;
    this.runBatch(batch).then(
      (rows) => {
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(rows[i] ?? null);
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    ).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
    });
  }
}
