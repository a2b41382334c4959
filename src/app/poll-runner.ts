/**
 * Runs a Poller in a worker thread for the `poll` command, with ingest in a second (nested)
 * worker (see poll-worker.ts). Why: a worker's young generation can be capped
 * (resourceLimits), the main isolate's cannot without a node flag, and imapflow produces a
 * lot of short-lived garbage. With the default 16 MB semi-spaces a 100k-message backfill
 * peaked at ~250 MB RSS; with small ones at ~165 MB, at the same throughput.
 *
 * The main thread keeps the adapter's jobs (progress bar, signals, summary); it sees the same
 * events as from an in-process Poller.
 */
import { EventEmitter } from 'node:events';
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../core/index.js';
import type { Config } from '../config/index.js';
import type { FolderStatus, PollerEvents, PollSummary } from './poll.js';
import type { StoreTuning } from './poll-worker.js';

interface RunnerInit {
  pollRunner: true;
  config: Config;
  once: boolean;
  progressLog: boolean;
  logLevel: string;
  /** Store tuning for both connections. */
  store: StoreTuning;
}

type Up =
  | { ev: 'state'; status: FolderStatus }
  | { ev: 'progress'; data: PollerEvents['progress'][0] }
  | { ev: 'batch'; data: PollerEvents['batch'][0] }
  | { ev: 'done'; folders: FolderStatus[]; failures: Array<{ account: string; folder: string | null; code: ErrorCode; message: string }> }
  | { ev: 'fatal'; code: ErrorCode; message: string };

/** Young generation of the poller thread, in MB: 2 cost ~25% of its time in GC, 8 about 5% more RSS than 2 (measured). */
const YOUNG_GENERATION_MB = 8;

/** A Poller living in a worker thread: `run()` resolves with its summary, `stop()` is graceful. */
export class PollerInWorker extends EventEmitter<PollerEvents> {
  private readonly worker: Worker;
  private readonly done: Promise<PollSummary>;
  private readonly exited: Promise<void>;

  constructor(o: { config: Config; once: boolean; progressLog: boolean; logLevel: string; store: StoreTuning }) {
    super();
    const init: RunnerInit = { pollRunner: true, ...o };
    this.worker = new Worker(new URL('./poll-runner.js', import.meta.url), {
      workerData: init,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, maxOldGenerationSizeMb: 512 },
    });
    this.exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.done = new Promise<PollSummary>((resolve, reject) => {
      let settled = false;
      this.worker.on('message', (m: Up) => {
        if (m.ev === 'state') this.emit('state', m.status);
        else if (m.ev === 'progress') this.emit('progress', m.data);
        else if (m.ev === 'batch') this.emit('batch', m.data);
        else if (m.ev === 'done') {
          settled = true;
          resolve({
            folders: m.folders,
            failures: m.failures.map((f) => ({ account: f.account, folder: f.folder, error: new AppError(f.code, f.message) })),
          });
        } else if (m.ev === 'fatal') {
          settled = true;
          reject(new AppError(m.code, m.message));
        }
      });
      this.worker.on('error', (e) => {
        settled = true;
        reject(new AppError('E_INTERNAL', `poller thread failed: ${e.message}`, { cause: e }));
      });
      this.worker.on('exit', (code) => {
        if (!settled) reject(new AppError('E_INTERNAL', `poller thread exited (${code}) without a summary`));
      });
    });
    this.done.catch(() => undefined);
  }

  /** Resolves with the summary when the poller has finished (or was stopped). */
  async run(): Promise<PollSummary> {
    const summary = await this.done;
    // The thread has closed its database and logged out when it exits.
    await this.exited;
    return summary;
  }

  /** Graceful stop: the current batch is committed, then LOGOUT. */
  stop(): void {
    this.worker.postMessage({ stop: true });
  }
}

/* ---- worker side ---- */
if (parentPort && (workerData as RunnerInit | undefined)?.pollRunner) {
  const port = parentPort;
  const init = workerData as RunnerInit;
  const post = (m: Up): void => port.postMessage(m);
  try {
    const { openApp } = await import('./context.js');
    const { createLogger } = await import('./logger.js');
    const { Poller } = await import('./poll.js');
    const { authStateDir } = await import('./auth.js');
    const { WorkerSink } = await import('./poll-worker.js');
    const { isAppError } = await import('../core/index.js');
    const logger = createLogger(init.logLevel);
    const app = openApp({ config: init.config, logger, store: init.store });
    const sink = new WorkerSink(app, { dbPath: init.config.db, store: init.store });
    const poller = new Poller({ accounts: init.config.accounts, poll: init.config.poll, sink, logger, once: init.once, progressLog: init.progressLog, authResults: !!init.config.trustedAuthservId, authStateDir: authStateDir(init.config) });
    poller.on('state', (status) => post({ ev: 'state', status }));
    poller.on('progress', (data) => post({ ev: 'progress', data }));
    poller.on('batch', (data) => post({ ev: 'batch', data }));
    port.on('message', (m: { stop?: boolean }) => {
      if (m.stop) void poller.stop();
    });
    try {
      const summary = await poller.run();
      post({
        ev: 'done',
        folders: summary.folders,
        failures: summary.failures.map((f) => ({ account: f.account, folder: f.folder, code: f.error.code, message: f.error.message })),
      });
    } catch (e) {
      post({ ev: 'fatal', code: isAppError(e) ? e.code : 'E_INTERNAL', message: (e as Error).message });
    } finally {
      await sink.close();
      await app.close();
      port.close();
    }
  } catch (e) {
    const err = e as AppError;
    post({ ev: 'fatal', code: err.code ?? 'E_INTERNAL', message: err.message ?? String(e) });
    port.close();
  }
}
