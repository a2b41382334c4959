/**
 * `smime-census poll [--once]`: reads the configured IMAP accounts into the store.
 * A thin adapter over app/poll.ts: config, progress display, signals, summary, exit code.
 */
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { AppError, type SkipReason } from '../../core/index.js';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../app/logger.js';
import type { Poller, PollSummary } from '../../app/poll.js';
import type { GlobalOptions } from '../options.js';

interface PollFlags {
  once?: boolean;
  json?: boolean;
  progress?: boolean;
  worker?: boolean;
}

/** Registers `poll`. */
export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('poll')
    .description('read the headers of mail in the configured IMAP accounts (read-only), then watch for new mail')
    .option('--once', 'catch up once, print a summary and exit (non-zero if any account or folder failed)')
    .option('--json', 'print the final summary as JSON')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addOption(new Option('--no-worker', 'parse, classify and store on the main thread too (default: in a worker thread, beside the IMAP client)'))
    .action(async (flags: PollFlags) => {
      const g = globals();
      const config = loadConfig({ configFile: g.config, flags: { db: g.db, logLevel: g.logLevel } });
      if (!config.accounts.length) {
        throw new AppError('E_CONFIG', 'accounts: no IMAP account configured (config file `accounts:` or CENSUS_IMAP_URL)');
      }
      const tty = flags.progress !== false && !!process.stdout.isTTY && !!process.stderr.isTTY;
      // With a progress bar on the terminal, info lines would tear it; state shows in the bar.
      const explicitLevel = g.logLevel ?? process.env.CENSUS_LOG_LEVEL;
      const logger = createLogger(tty && !explicitLevel && config.logLevel === 'info' ? 'warn' : config.logLevel);
      // Imported on demand: `smime-census --help` need not load the IMAP client, rules and store.
      const { openApp } = await import('../../app/context.js');
      // A poller only writes: no mmap and a 16 MiB page cache keep its RSS down at the same speed.
      const store = { mmapBytes: 0, cacheKiB: 16_384 };
      const app = openApp({ config, logger, store });
      // The ingest worker starts first (after the store's migrations ran here): it loads the
      // store, rules and CMS code while this thread loads the IMAP client and connects.
      const { WorkerSink, workerIngestPossible } = await import('../../app/poll-worker.js');
      const sink = flags.worker !== false && workerIngestPossible(config.db) ? new WorkerSink(app, { store, logLevel: logger.level }) : undefined;
      const { createPoller } = await import('../../app/poll.js');
      const poller = createPoller(app, { once: !!flags.once, progressLog: !tty, ...(sink ? { sink } : {}) });
      const bars = tty ? progressBars(poller) : null;
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          // A second signal means "now": the last batch may be lost, the checkpoint stays consistent.
          logger.warn({ signal: sig }, 'second signal: exiting without waiting');
          process.exit(130);
        }
        logger.info({ signal: sig }, 'stopping: finishing the current batch');
        void poller.stop();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let summary: PollSummary;
      try {
        summary = await poller.run();
      } finally {
        bars?.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await sink?.close();
        await app.close();
      }
      printSummary(summary, !!flags.json);
      const first = summary.failures[0];
      if (first) {
        const n = summary.failures.length;
        throw new AppError(first.error.code, `${n} account/folder${n > 1 ? 's' : ''} failed; first: ${first.error.message}`);
      }
    });
}

function progressBars(poller: Poller): { stop(): void } {
  const multi = new cliProgress.MultiBar(
    {
      format: '{name} |{bar}| {value}/{total} {state} {rate}/s ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  poller.on('progress', ({ account, folder, done, total }) => {
    const k = `${account}/${folder}`;
    let b = bars.get(k);
    if (!b) {
      b = { bar: multi.create(total, 0, { name: k, state: 'backfilling', rate: 0 }), started: Date.now() };
      bars.set(k, b);
    }
    const secs = (Date.now() - b.started) / 1000;
    b.bar.setTotal(total);
    b.bar.update(done, { rate: secs > 0 ? Math.round(done / secs) : 0 });
  });
  poller.on('state', (s) => bars.get(`${s.account}/${s.folder}`)?.bar.update({ state: s.state }));
  return { stop: () => multi.stop() };
}

function printSummary(summary: PollSummary, json: boolean): void {
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          folders: summary.folders.map((f) => ({ ...f, lastSyncAt: f.lastSyncAt?.toISOString() ?? null })),
          failures: summary.failures.map((x) => ({ account: x.account, folder: x.folder, code: x.error.code, message: x.error.message })),
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const lines = ['account/folder\tseen\tstored\tduplicates\tskipped\tstate'];
  for (const f of summary.folders) {
    const skipped = Object.entries(f.counts.skipped)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k as SkipReason}=${v}`)
      .join(',');
    lines.push(`${f.account}/${f.folder}\t${f.counts.read}\t${f.counts.stored}\t${f.counts.duplicates}\t${skipped || '-'}\t${f.state}${f.lastError && f.state === 'failed' ? ` (${f.lastError.code})` : ''}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
