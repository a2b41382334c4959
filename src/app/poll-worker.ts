/**
 * Ingest in a worker thread for `poll`: the main thread keeps reading and tokenizing IMAP
 * responses (imapflow's parser is as costly per message as parse + classify + SQLite) while
 * this thread parses, classifies and commits the previous batch with its checkpoint, so the
 * two overlap on two cores.
 *
 * Batches cross as one transferred buffer plus offsets (no per-message copies); a batch and its
 * checkpoint commit in one SQLite transaction exactly as with the in-thread sink, so crash
 * safety is unchanged. The worker's heap is capped small: it holds one batch at a time.
 */
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { AppError, isAppError, type ErrorCode, type SourceItem } from '../core/index.js';
import type { Config } from '../config/index.js';
import type { Checkpoint, IngestCounts } from './ingest.js';
import type { AppContext } from './context.js';
import type { PollSink } from './poll.js';
import type { StoreOptions } from '../store/index.js';

/** Store tuning that crosses to a worker (no secrets: the worker reads those itself). */
export type StoreTuning = Pick<StoreOptions, 'cacheKiB' | 'mmapBytes' | 'poolSize'>;

interface WorkerInit {
  config: Config;
  dbPath: string;
  logLevel: string;
  /** Store tuning (SQLite cache and mmap sizes). */
  store: StoreTuning;
}

interface IngestMessage {
  id: number;
  bytes: ArrayBuffer;
  /** [start, end) offsets into bytes, one pair per item. */
  offsets: Uint32Array;
  keys: string[];
  receivedAt: Array<number | null>;
  /** Signed parts of S/MIME items (rare; structured-cloned), by index. */
  smime: Array<SourceItem['smimeBytes'] | null>;
  checkpoint: Checkpoint;
}

type Reply = { id: number; counts: IngestCounts } | { id: number; error: { code: ErrorCode; message: string } };

/** A PollSink whose ingestBatch runs in a worker thread; checkpoints are read in this thread. */
export class WorkerSink implements PollSink {
  private readonly worker: Worker;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (c: IngestCounts) => void; reject: (e: unknown) => void }>();
  private failed: Error | null = null;

  constructor(
    private readonly ctx: AppContext,
    init: { dbPath: string; store?: StoreTuning },
  ) {
    const data: WorkerInit = { config: ctx.config, dbPath: init.dbPath, logLevel: ctx.logger.level, store: init.store ?? {} };
    this.worker = new Worker(new URL('./poll-worker.js', import.meta.url), {
      workerData: data,
      // One batch of header blocks at a time: a small young generation keeps the RSS down.
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 256 },
    });
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if ('error' in r) w.reject(new AppError(r.error.code, r.error.message));
      else w.resolve(r.counts);
    });
    const fail = (e: Error) => {
      this.failed = e;
      for (const w of this.waiting.values()) w.reject(new AppError('E_INTERNAL', `ingest worker failed: ${e.message}`, { cause: e }));
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.waiting.size) fail(new Error(`ingest worker exited (${code})`));
    });
  }

  getCheckpoint(account: string, folder: string): Promise<{ uidValidity: string; lastUid: number } | null> {
    return this.ctx.store.getCheckpoint(account, folder);
  }

  resetCheckpoint(account: string, folder: string, uidValidity: string): Promise<void> {
    return this.ctx.store.resetCheckpoint(account, folder, uidValidity);
  }

  ingestBatch(items: readonly SourceItem[], checkpoint: Checkpoint): Promise<IngestCounts> {
    if (this.failed) return Promise.reject(new AppError('E_INTERNAL', `ingest worker failed: ${this.failed.message}`));
    let total = 0;
    for (const it of items) total += it.headerBytes.byteLength;
    const buf = new Uint8Array(total);
    const offsets = new Uint32Array(items.length * 2);
    let at = 0;
    items.forEach((it, i) => {
      buf.set(it.headerBytes, at);
      offsets[2 * i] = at;
      at += it.headerBytes.byteLength;
      offsets[2 * i + 1] = at;
    });
    const msg: IngestMessage = {
      id: this.next++,
      bytes: buf.buffer,
      offsets,
      keys: items.map((i) => i.sourceKey),
      receivedAt: items.map((i) => (i.receivedAt ? i.receivedAt.getTime() : null)),
      smime: items.map((i) => i.smimeBytes ?? null),
      checkpoint,
    };
    return new Promise((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, [buf.buffer]);
    });
  }

  /** Ends the worker once it has finished what it was given (it closes its database). */
  async close(): Promise<void> {
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage({ close: true });
    await exited;
  }
}

/* ---- worker side ---- */
if (parentPort && (workerData as WorkerInit | undefined)?.dbPath) {
  const port = parentPort;
  const init = workerData as WorkerInit;
  const { openApp } = await import('./context.js');
  const { createLogger } = await import('./logger.js');
  const app = openApp({ config: init.config, dbPath: init.dbPath, logger: createLogger(init.logLevel), store: init.store });
  let last: Promise<unknown> = Promise.resolve();
  port.on('message', (m: IngestMessage | { close: true }) => {
    if ('close' in m) {
      // Close only after the batches already handed over have committed.
      void last.finally(async () => {
        await app.close();
        port.close();
      });
      return;
    }
    const bytes = new Uint8Array(m.bytes);
    const items: SourceItem[] = m.keys.map((sourceKey, i) => ({
      sourceKey,
      headerBytes: bytes.subarray(m.offsets[2 * i]!, m.offsets[2 * i + 1]!),
      receivedAt: m.receivedAt[i] === null ? null : new Date(m.receivedAt[i]!),
      ...(m.smime[i] ? { smimeBytes: m.smime[i]! } : {}),
    }));
    // ingestBatchAsync commits batches in arrival order (harvesting may await WebCrypto).
    last = app.pipeline.ingestBatchAsync(items, m.checkpoint).then(
      (counts) => port.postMessage({ id: m.id, counts } satisfies Reply),
      (e: unknown) => port.postMessage({ id: m.id, error: { code: isAppError(e) ? e.code : 'E_INTERNAL', message: (e as Error).message } } satisfies Reply),
    );
  });
}
