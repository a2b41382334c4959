/**
 * `smime-census serve`: the long-running service — the configured IMAP pollers plus the HTTP
 * API — in one process. A thin adapter: config, binding checks, signals, graceful shutdown.
 */
import type { Command } from 'commander';
import { openApp, createLogger, SERVER_STORE_OPTIONS } from '../../app/index.js';
import { createPoller } from '../../app/poll.js';
import { assertSafeBinding, loadTokens, startServer } from '../../http/index.js';
import type { GlobalOptions } from '../options.js';
import { configFrom } from '../context.js';
import { configuredSigner } from '../configured-signer.js';
import type { Relay } from '../../relay/index.js';
import { startConfiguredRelay } from './relay.js';

/** How long in-flight requests may take to finish after SIGTERM before their connections are cut. */
export const SHUTDOWN_GRACE_MS = 30_000;

interface ServeFlags {
  host?: string;
  port?: string;
  poll?: boolean;
}

/** Registers `serve`. */
export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('serve')
    .description('run the HTTP API (and the configured IMAP pollers and signing relay) until SIGTERM/SIGINT')
    .option('--host <host>', 'address to bind (env CENSUS_HTTP_HOST, default 127.0.0.1); anything but loopback needs tokens')
    .option('--port <port>', 'port to bind (env CENSUS_HTTP_PORT, default 8025; 0 = any free port)')
    .option('--no-poll', 'serve only; do not run the configured IMAP pollers (config serve.poll, env CENSUS_SERVE_POLL)')
    .action(async (flags: ServeFlags) => {
      // The flags are config keys (table in config/keys.ts): "80x" or 70000 for --port is a usage error there.
      const config = configFrom(globals(), { 'http.host': flags.host, 'http.port': flags.port, 'serve.poll': flags.poll === false ? false : undefined });
      const { host, port } = config.http;
      const tokens = loadTokens(config.http);
      // Refuse before touching the database: a misconfigured exposure must not start at all.
      assertSafeBinding(host, tokens);
      if (config.relay) (await import('../../relay/index.js')).assertSafeRelayListener(config.relay);
      const logger = createLogger(config.logLevel);
      const signer = await configuredSigner(config, logger.child({ component: 'sign' }));
      const signerState = signer?.status();
      if (signerState?.expiringSoon) logger.warn({ component: 'sign', notAfter: signerState.notAfter, daysLeft: signerState.daysLeft }, 'the signing certificate expires soon: renew it');
      const app = openApp({ config, logger, store: SERVER_STORE_OPTIONS });
      const poller =
        config.serve.poll && config.accounts.length > 0
          ? createPoller(app)
          : null;
      let server: Awaited<ReturnType<typeof startServer>>['server'] | undefined;
      let relay: Relay | undefined;
      try {
        await app.store.ready();
        if (config.relay) relay = await startConfiguredRelay(config, app, signer, logger);
        const started = await startServer({ app, tokens, host, port, logger, pollers: poller ? [poller] : [], signer: signer ? () => signer.status() : undefined, relay });
        server = started.server;
        poller?.start();
        logger.info({ component: 'serve', url: started.url, polling: !!poller, accounts: config.accounts.length, auth: tokens.read !== null || tokens.admin !== null }, 'serving');
      } catch (e) {
        // e.g. the port is taken, or two accounts share a name: nothing may keep running.
        await Promise.all([server?.close(), poller?.stop(), relay?.close()]);
        await app.close();
        throw e;
      }
      const running = server;

      let signals = 0;
      let release!: () => void;
      const stopped = new Promise<void>((resolve) => (release = resolve));
      const onSignal = (sig: NodeJS.Signals): void => {
        signals++;
        if (signals > 1) {
          // A second signal means "now": the checkpoint stays consistent, the last batch may be redone.
          logger.warn({ component: 'serve', signal: sig }, 'second signal: exiting without waiting');
          process.exit(130);
        }
        logger.info({ component: 'serve', signal: sig }, 'stopping: finishing requests and the current batch');
        release();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await stopped;
        // A client that never reads must not hold the shutdown forever.
        const force = setTimeout(() => running.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        force.unref();
        // Stop accepting and finish in-flight requests while pollers commit their batch and log out.
        await Promise.all([running.close(), poller?.stop(), relay?.close()]);
        clearTimeout(force);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await app.close();
      }
      logger.info({ component: 'serve' }, 'stopped');
    });
}
