/**
 * Ingest in a worker thread for `poll`: the main thread reads and tokenises IMAP responses
 * (imapflow's parser costs as much per message as parse, classify and the store together),
 * while this thread parses, harvests, classifies and commits the batch before, so the two run
 * on two cores instead of one after the other. Its start-up (store, rules, the CMS library)
 * overlaps the main thread's own (the IMAP client, connect, login, the first FETCH).
 *
 * Exactly once is unchanged: a batch and its checkpoint commit in one transaction in this
 * thread's store (fenced by the lease claim the poller passes along), and the poller awaits
 * each batch before handing out the next, as with the in-thread sink. A batch crosses as one
 * transferred buffer of header blocks plus offsets (no per-message copy or clone of the bytes).
 *
 * Used only for a SQLite file (the worker opens its own connection to it); a PostgreSQL census
 * or an in-memory database keeps the in-thread sink (appSink).
 */
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { AppError, isAppError, type ErrorCode, type SourceItem } from '../core/index.js';
import type { Config } from '../config/index.js';
import { isPostgresUrl, type StoreOptions, type LeaseClaim } from '../store/index.js';
import type { Checkpoint, IngestCounts } from './ingest.js';
import type { AppContext } from './context.js';
// Types only: neither thread should load the IMAP client through this module.
import type { PollSink } from './poll.js';

interface WorkerInit {
  readonly ingestWorker: true;
  readonly config: Config;
  readonly logLevel: string;
  readonly store: Omit<StoreOptions, 'readonly'>;
}

interface IngestRequest {
  readonly id: number;
  /** The header blocks of the batch back to back (transferred, not copied). */
  readonly bytes: ArrayBuffer;
  /** [start, end) into bytes, one pair per item. */
  readonly offsets: Uint32Array;
  readonly keys: readonly string[];
  readonly receivedAt: ReadonlyArray<number | null>;
  /** Signed bytes of S/MIME items by index (5% of mail; structured-cloned). */
  readonly smime: ReadonlyArray<SourceItem['smimeBytes'] | null>;
  readonly checkpoint: Checkpoint;
  readonly lease: LeaseClaim | undefined;
}

type Reply = { id: number; counts: IngestCounts } | { id: number; error: { code: ErrorCode; message: string } } | { ready: true } | { fatal: { code: ErrorCode; message: string } };

/**
 * Young generation of the worker, in MB: it holds one batch of header blocks at a time, and a
 * small nursery keeps the process's RSS within the poller's budget (scripts/bench/imap.mjs).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/**
 * The worker's own file. In the CLI bundle this expression is left relative to the bundle
 * (scripts/bundle-cli.mjs), where the worker is an entry of its own: the thread then loads a few
 * bundled files instead of ~200 modules of dist/ (measured: most of the worker's start-up).
 */
const WORKER_FILE = new URL('./poll-worker.js', import.meta.url);

/** True when `poll` may ingest in a worker: a SQLite file (not PostgreSQL, not in memory). */
export function workerIngestPossible(db: string): boolean {
  return db !== ':memory:' && !isPostgresUrl(db);
}

/** A PollSink whose ingestBatch runs in a worker thread; checkpoints and leases stay with `ctx`. */
export class WorkerSink implements PollSink {
  readonly getCheckpoint: PollSink['getCheckpoint'];
  readonly resetCheckpoint: PollSink['resetCheckpoint'];
  readonly leases: PollSink['leases'];
  private readonly worker: Worker;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (c: IngestCounts) => void; reject: (e: unknown) => void }>();
  private failed: AppError | null = null;
  private readonly exited: Promise<void>;

  constructor(ctx: AppContext, o: { store: Omit<StoreOptions, 'readonly'>; logLevel: string }) {
    // As appSink (poll.ts), which this module does not import (it would load the IMAP client).
    this.getCheckpoint = (a, f) => ctx.store.getCheckpoint(a, f);
    this.resetCheckpoint = (a, f, v) => ctx.store.resetCheckpoint(a, f, v);
    this.leases = {
      acquire: (a, f, owner, ttl, now, takeOver) => ctx.store.acquireLease(a, f, owner, ttl, now, takeOver),
      renew: (k, ttl, now) => ctx.store.renewLease(k, ttl, now),
      release: (k) => ctx.store.releaseLease(k),
      list: () => ctx.store.listLeases(),
    };
    const init: WorkerInit = { ingestWorker: true, config: ctx.config, logLevel: o.logLevel, store: o.store };
    this.worker = new Worker(WORKER_FILE, {
      workerData: init,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    this.exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.on('message', (r: Reply) => {
      if ('ready' in r) return;
      if ('fatal' in r) return this.fail(new AppError(r.fatal.code, r.fatal.message));
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if ('error' in r) w.reject(new AppError(r.error.code, r.error.message));
      else w.resolve(r.counts);
    });
    this.worker.on('error', (e) => this.fail(new AppError('E_INTERNAL', `ingest worker failed: ${e.message}`, { cause: e })));
    this.worker.on('exit', (code) => this.fail(new AppError('E_INTERNAL', `ingest worker exited (${code})`)));
  }

  private fail(e: AppError): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(this.failed);
    this.waiting.clear();
  }

  /** Commits one batch with its checkpoint in the worker (one transaction there). */
  ingestBatch(items: readonly SourceItem[], checkpoint: Checkpoint, lease?: LeaseClaim): Promise<IngestCounts> {
    if (this.failed) return Promise.reject(this.failed);
    let total = 0;
    for (const it of items) total += it.headerBytes.byteLength;
    const bytes = new Uint8Array(total);
    const offsets = new Uint32Array(items.length * 2);
    let at = 0;
    for (let i = 0; i < items.length; i++) {
      const h = items[i]!.headerBytes;
      bytes.set(h, at);
      offsets[2 * i] = at;
      at += h.byteLength;
      offsets[2 * i + 1] = at;
    }
    const msg: IngestRequest = {
      id: this.next++,
      bytes: bytes.buffer,
      offsets,
      keys: items.map((i) => i.sourceKey),
      receivedAt: items.map((i) => (i.receivedAt ? i.receivedAt.getTime() : null)),
      smime: items.map((i) => i.smimeBytes ?? null),
      checkpoint,
      lease,
    };
    return new Promise((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, [bytes.buffer]);
    });
  }

  /** Ends the worker after what it was given has committed (it closes its store). */
  async close(): Promise<void> {
    this.worker.postMessage({ close: true });
    await this.exited;
  }
}

/* ---- worker side ---- */

async function serve(port: NonNullable<typeof parentPort>, init: WorkerInit): Promise<void> {
  const { openApp } = await import('./context.js');
  const { createLogger } = await import('./logger.js');
  const app = openApp({ config: init.config, logger: createLogger(init.logLevel), store: init.store });
  // Loaded now, while the main thread connects, rather than when the first batch arrives.
  void app.pipeline;
  void app.rules;
  let last: Promise<unknown> = Promise.resolve();
  port.on('message', (m: IngestRequest | { close: true }) => {
    if ('close' in m) {
      // Close only after the batches already handed over have committed.
      void last.finally(async () => {
        await app.close();
        port.close();
      });
      return;
    }
    const bytes = new Uint8Array(m.bytes);
    const items: SourceItem[] = m.keys.map((sourceKey, i) => {
      const r = m.receivedAt[i];
      const smime = m.smime[i];
      return {
        sourceKey,
        headerBytes: Buffer.from(bytes.buffer, m.offsets[2 * i]!, m.offsets[2 * i + 1]! - m.offsets[2 * i]!),
        receivedAt: r === null || r === undefined ? null : new Date(r),
        ...(smime ? { smimeBytes: reviveSmime(smime) } : {}),
      };
    });
    // ingestBatchAsync commits batches in arrival order (harvesting awaits WebCrypto).
    last = app.pipeline.ingestBatchAsync(items, m.checkpoint, m.lease).then(
      (counts) => port.postMessage({ id: m.id, counts } satisfies Reply),
      (e: unknown) => port.postMessage({ id: m.id, error: { code: isAppError(e) ? e.code : 'E_INTERNAL', message: (e as Error).message } } satisfies Reply),
    );
  });
  port.postMessage({ ready: true } satisfies Reply);
}

/** Structured clone turns Buffers into plain Uint8Arrays; harvesting reads them as Buffers. */
function reviveSmime(s: NonNullable<SourceItem['smimeBytes']>): NonNullable<SourceItem['smimeBytes']> {
  const b = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return s.kind === 'message' ? { kind: 'message', message: b(s.message) } : { kind: 'parts', signedPart: b(s.signedPart), signature: b(s.signature) };
}

if (parentPort && (workerData as WorkerInit | undefined)?.ingestWorker) {
  const port = parentPort;
  serve(port, workerData as WorkerInit).catch((e: unknown) => {
    port.postMessage({ fatal: { code: isAppError(e) ? e.code : 'E_INTERNAL', message: (e as Error).message } } satisfies Reply);
    port.close();
  });
}
