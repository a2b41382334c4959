// The HTTP server under load and the load generator, each in its own process: shared by the
// http and pg-store benchmarks, so both measure the server the same way.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { cpuMicros, pinned, tasksetWorks } from './_proc.mjs';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const LOADGEN = fileURLToPath(new URL('./_loadgen.mjs', import.meta.url));

/**
 * Starts `smime-census`'s HTTP server on the database (a SQLite file or a postgres:// URL) in a
 * child process pinned to CPU 0; resolves with its URL, pid and stop().
 */
export async function startServerProcess(db, erasureKeyFile) {
  const script = `
    const { configSchema } = await import(${JSON.stringify(DIST + 'config/index.js')});
    const { openApp, createLogger, SERVER_STORE_OPTIONS } = await import(${JSON.stringify(DIST + 'app/index.js')});
    const { startServer, tokensFrom } = await import(${JSON.stringify(DIST + 'http/index.js')});
    const config = configSchema.parse({ db: ${JSON.stringify(db)}, erasureKeyFile: ${JSON.stringify(erasureKeyFile)}, logLevel: 'warn' });
    // The store as the serve command opens it (src/cli/commands/serve.ts).
    const app = openApp({ config, logger: createLogger('warn'), store: SERVER_STORE_OPTIONS });
    await app.store.ready();
    const { server, url } = await startServer({ app, tokens: tokensFrom({}), host: '127.0.0.1', port: 0, publicDir: null });
    process.stdout.write(url + '\\n');
    process.on('SIGTERM', async () => { await server.close(); await app.close(); process.exit(0); });
  `;
  const [cmd, args] = pinned(0, process.execPath, ['--input-type=module', '-e', script]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  while (!out.includes('\n')) {
    const [ev] = await Promise.race([once(child.stdout, 'data').then(() => ['data']), once(child, 'exit').then(() => ['exit'])]);
    if (ev === 'exit') throw new Error('server process exited');
  }
  return { url: out.trim(), pid: child.pid, stop: async () => { child.kill('SIGTERM'); await once(child, 'exit'); } };
}

/** One autocannon run in its own process (pinned to CPU 1); returns its summary and the server's CPU µs per request. */
export async function load(server, o) {
  const [cmd, args] = pinned(1, process.execPath, [LOADGEN, JSON.stringify({ url: server.url, ...o })]);
  const cpu0 = cpuMicros(server.pid);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  const cpu = cpuMicros(server.pid) - cpu0;
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  const r = JSON.parse(out);
  if (r.non2xx || r.errors) throw new Error(`${o.route}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { ...r, cpuPerRequest: cpu / Math.max(1, r.total) };
}

/**
 * Runs fn with this process (all its threads) pinned to the server's CPU 0, then restores the
 * affinity. An in-process baseline compared with the pinned server must run on the same core:
 * left free to float over both cores of a loaded machine it gets a larger share of CPU than the
 * server can, which flatters the baseline.
 */
export async function onServerCpu(fn) {
  if (!tasksetWorks()) return fn();
  const pid = String(process.pid);
  const before = execFileSync('taskset', ['-c', '-p', pid], { encoding: 'utf8' }).trim().split(': ').pop();
  execFileSync('taskset', ['-a', '-c', '-p', '0', pid], { stdio: 'ignore' });
  try {
    return await fn();
  } finally {
    execFileSync('taskset', ['-a', '-c', '-p', before, pid], { stdio: 'ignore' });
  }
}
