#!/usr/bin/env node
// Peak RSS of a poller and of `serve`, this checkout against another build of the project (issue
// 10: "peak RSS of a poller and of serve unchanged within 10% by the change"), on SQLite and the
// same workload for both, round by round in alternating order:
//   poll:  `smime-census poll --once` of one folder of N messages (test/source/imap/messages.ts's
//          generator) on a real Dovecot (test/helpers/dovecot.ts), into a fresh SQLite file;
//   serve: `smime-census serve --no-poll` on the census that poll wrote (each build on its own
//          file, so each has its own schema), under GET /v1/recipients/{address} load from
//          autocannon in this process (50 connections, every stored address plus 10% unknown)
//          for a fixed time, then SIGTERM.
// Peak RSS is the kernel's maximum resident set of the process (GNU time's %M, from wait4's
// rusage), not a sample.
//
//   node scripts/rss-compare.mjs --other /path/to/old-checkout [--messages 3000] [--rounds 3] [--seconds 10]
// The other checkout needs its dist/ built (`npm run build` there); e.g. old main 1f6a7f6:
//   git worktree add /tmp/oldmain 1f6a7f6 && (cd /tmp/oldmain && npm ci && npm run build)
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const OTHER = opt('other');
if (!OTHER || !existsSync(join(OTHER, 'dist', 'cli', 'main.js'))) {
  console.error('usage: node scripts/rss-compare.mjs --other CHECKOUT [--messages N] [--rounds R] [--seconds S]  (CHECKOUT with dist/ built)');
  process.exit(2);
}
const N = Number(opt('messages', 3000));
const ROUNDS = Number(opt('rounds', 3));
const SECONDS = Number(opt('seconds', 10));
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) throw new Error('needs GNU time (/usr/bin/time, Debian package "time")');

const builds = { other: resolve(OTHER), this: ROOT };
const tmp = mkdtempSync(join(tmpdir(), 'rss-compare-'));

async function buildTs(entry) {
  const outfile = join(tmp, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(ROOT, entry)], format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Runs the build's CLI under GNU time; resolves with { kb, child } once started (done: exit promise). */
function cli(root, argv, env) {
  const out = join(tmp, `time-${Math.random().toString(36).slice(2)}`);
  const child = spawn(TIME, ['-f', '%M', '-o', out, process.execPath, join(root, 'dist', 'cli', 'main.js'), ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', CENSUS_LOG_LEVEL: 'warn', ...env },
  });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const done = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`${argv.join(' ')} (${root}) exited ${code}: ${err}`);
    return Number(readFileSync(out, 'utf8').trim().split('\n').at(-1));
  });
  return { child, done };
}

const { startDovecot } = await buildTs('test/helpers/dovecot.ts');
const { loadTemplates, makeMessages, fixturesDir } = await buildTs('test/source/imap/messages.ts');
const server = await startDovecot();
const kb = { poll: { other: [], this: [] }, serve: { other: [], this: [] } };
try {
  await server.deliver('Bench', makeMessages(loadTemplates(fixturesDir(ROOT)), 0, N));
  const pw = join(tmp, 'imap-password');
  writeFileSync(pw, server.password + '\n', { mode: 0o600 });
  for (let r = 0; r < ROUNDS; r++) {
    for (const which of r % 2 === 0 ? ['other', 'this'] : ['this', 'other']) {
      const dir = mkdtempSync(join(tmp, `${which}-`));
      const cfg = join(dir, 'census.json');
      writeFileSync(cfg, JSON.stringify({ db: join(dir, 'census.db'), accounts: [{ name: 'bench', host: server.host, port: server.port, user: server.user, passwordFile: pw, caFile: server.caFile, folders: ['Bench'] }] }));
      kb.poll[which].push(await cli(builds[which], ['--config', cfg, 'poll', '--once']).done);
      const db = new Database(join(dir, 'census.db'), { readonly: true });
      const addresses = db.prepare('SELECT address FROM addresses ORDER BY address').pluck().all();
      db.close();
      if (addresses.length === 0) throw new Error(`${which}: poll stored nothing`);
      const port = await freePort();
      const s = cli(builds[which], ['--config', cfg, 'serve', '--no-poll', '--host', '127.0.0.1', '--port', String(port)]);
      const url = `http://127.0.0.1:${port}`;
      for (let t = Date.now(); ; ) {
        if (await fetch(`${url}/v1/ping`).then((x) => x.ok, () => false)) break;
        if (Date.now() - t > 60_000) throw new Error(`${which}: serve did not answer within 60 s`);
        await new Promise((res) => setTimeout(res, 100));
      }
      let k = 0;
      const path = () => (k++ % 10 === 9 ? `/v1/recipients/nobody${k}@unknown.example` : `/v1/recipients/${encodeURIComponent(addresses[(k * 7919) % addresses.length])}`);
      const res = await autocannon({ url, connections: 50, duration: SECONDS, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path() }) }] });
      if (res.errors || res.timeouts) throw new Error(`${which}: ${res.errors} errors, ${res.timeouts} timeouts under load`);
      // SIGTERM to the CLI (time's child), not to time: time then reports and exits with its status.
      const node = Number(readFileSync(`/proc/${s.child.pid}/task/${s.child.pid}/children`, 'utf8').trim().split(' ')[0]);
      process.kill(node, 'SIGTERM');
      kb.serve[which].push(await s.done);
      console.log(`round ${r + 1} ${which}: poll --once ${kb.poll[which].at(-1)} kB, serve ${kb.serve[which].at(-1)} kB (${Math.round(res.requests.average)} req/s)`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const what of ['poll', 'serve']) {
  const [o, t] = [median(kb[what].other), median(kb[what].this)];
  console.log(`${what}: peak RSS ${(t / 1024).toFixed(1)} MB here vs ${(o / 1024).toFixed(1)} MB in ${builds.other} (${((t / o - 1) * 100).toFixed(1)}%; n=${ROUNDS}, here ${kb[what].this.join('/')} kB, there ${kb[what].other.join('/')} kB)`);
}
