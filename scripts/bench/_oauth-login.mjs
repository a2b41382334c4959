// Logins through the poller's own code, for oauth.mjs (1a): the config as loadConfig parses it,
// the token-state folder of app/auth.ts, credentialSource and ImapSession.open from dist/, as
// app/poll.ts wires them for `poll --log-level warn`.
//
// Run as a script (`node _oauth-login.mjs CONFIG ACCOUNT`) it makes the first login of a fresh
// process, as `poll --once` does, and prints { ms }: the time of that ImapSession.open alone. A
// process's first token fetch pays what a warmed process does not (node's fetch and its HTTP
// client loaded and compiled, openid-client's request path run for the first time), and a
// password poll never pays it; the modules both load are imported before the clock starts.
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The poller's pieces for the accounts of a config file. */
export async function loginKit(cfgFile) {
  const imp = (rel) => import(pathToFileURL(join(ROOT, 'dist', rel)).href);
  const [{ loadConfig }, { authStateDir }, { credentialSource, ImapSession }, { createLogger }] = await Promise.all([
    imp('config/index.js'),
    imp('app/auth.js'),
    imp('source/imap/index.js'),
    imp('app/logger.js'),
  ]);
  const config = loadConfig({ configFile: cfgFile, env: {} });
  const logger = createLogger('warn');
  // Beside the database: written (atomically, with fsync) on every token fetch, as in poll.
  const stateDir = authStateDir(config);
  const account = (name) => {
    const a = config.accounts.find((x) => x.name === name);
    if (!a) throw new Error(`no account ${name} in ${cfgFile}`);
    return a;
  };
  /** A credential source as the Poller makes one per account (OAuth2: its own token cache). */
  const sourceOf = (a) => credentialSource(a, { logger: logger.child({ component: 'oauth', account: a.name }), env: {}, stateDir });
  /** Times ImapSession.open (TCP, TLS, greeting, credentials, LOGIN / AUTHENTICATE); closes untimed. */
  const open = async (a, source) => {
    const t0 = performance.now();
    const session = await ImapSession.open({ account: a, poll: config.poll, logger, credentials: source });
    const ms = performance.now() - t0;
    await session.close();
    return ms;
  };
  return { config, account, sourceOf, open };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [cfgFile, name] = process.argv.slice(2);
  const kit = await loginKit(cfgFile);
  const a = kit.account(name);
  const source = kit.sourceOf(a);
  const ms = await kit.open(a, source);
  const fetched = source.tokenStatus()?.refreshes ?? 0;
  process.stdout.write(JSON.stringify({ ms, fetched }) + '\n');
}
