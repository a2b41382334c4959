/**
 * `smime-census relay`: the signing SMTP relay alone (`serve` also runs it when `relay:` is
 * configured), and `relay passwd USER` to make a users-file line. A thin adapter.
 */
import type { Command } from 'commander';
import { AppError } from '../../core/index.js';
import { openApp, createLogger, type AppContext, type Logger } from '../../app/index.js';
import type { Config } from '../../config/index.js';
import type { Relay } from '../../relay/index.js';
import type { Signer } from '../../sign/index.js';
import type { GlobalOptions } from '../options.js';
import { configFrom } from '../context.js';
import { configuredSigner } from '../configured-signer.js';

/** Starts the relay of `config.relay` over an open app; shared by `relay` and `serve`. */
export async function startConfiguredRelay(config: Config, app: AppContext, signer: Signer | null, logger: Logger): Promise<Relay> {
  if (!config.relay) throw new AppError('E_CONFIG', 'no relay: section in the configuration');
  const { startRelay, censusOf } = await import('../../relay/index.js');
  return startRelay({ config: config.relay, signer, census: config.relay.mode === 'recommended' ? censusOf(app) : null, logger });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Registers `relay` and `relay passwd`. */
export function register(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('relay')
    .description('run the signing SMTP relay of the `relay:` config until SIGTERM/SIGINT (sign per recipient, hand on to the upstream MTA)')
    .action(async () => {
      const config = configFrom(globals());
      const { assertSafeRelayListener } = await import('../../relay/index.js');
      if (!config.relay) throw new AppError('E_CONFIG', 'no relay: section in the configuration (see README "Signing all automated mail")');
      // Refuse before touching anything: a misconfigured exposure must not start at all.
      assertSafeRelayListener(config.relay);
      const logger = createLogger(config.logLevel);
      const signer = await configuredSigner(config, logger.child({ component: 'sign' }));
      const app = openApp({ config, logger });
      let relay: Relay;
      try {
        relay = await startConfiguredRelay(config, app, signer, logger);
      } catch (e) {
        await app.close();
        throw e;
      }
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const sig = await stopped;
      logger.info({ component: 'relay', signal: sig }, 'stopping: finishing open transactions');
      try {
        await relay.close();
      } finally {
        await app.close();
      }
      logger.info({ component: 'relay' }, 'stopped');
    });
  cmd
    .command('passwd <user>')
    .description('read a password on stdin, print the `user:scrypt$…` line for relay.usersFile')
    .action(async (user: string) => {
      if (!/^[^\s:]{1,200}$/.test(user)) throw new AppError('E_USAGE', 'the user name must be 1-200 characters without spaces or colons');
      const { hashPassword } = await import('../../relay/index.js');
      process.stdout.write(`${user}:${await hashPassword(await readStdin())}\n`);
    });
}
