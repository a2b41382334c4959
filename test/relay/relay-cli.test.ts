/**
 * The built CLI: `serve` runs the relay of the `relay:` config next to the HTTP API (/healthz
 * shows relay and upstream, /metrics the relay counters), swaks plays the application; and a
 * relay killed (SIGKILL) mid-transaction never answers 250 — the application's retry after the
 * restart delivers the message exactly once. `relay passwd` makes a users-file line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadUsers } from '../../src/relay/index.js';
import { freePorts, startPostfix, submittedBytes, type PostfixServer } from '../helpers/postfix.js';
import { makeTestPki, opensslVerifyMessage, type TestPki } from '../helpers/pki.js';
import { seededApp, PEOPLE } from '../http/helpers.js';
import { crlf, submit } from './helpers.js';
import { builtCli } from '../helpers/built.js';

const CLI = builtCli();
const SENDER = 'alice@example.test';

let pki: TestPki;
let pf: PostfixServer;
let dir: string;
let configFile: string;
let relayPort: number;
let httpPort: number;
let child: ChildProcess | null = null;

async function startServe(): Promise<ChildProcess> {
  const p = spawn(process.execPath, [CLI, '--config', configFile, 'serve', '--no-poll'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CENSUS_LOG_LEVEL: 'info' } });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/"msg":"serving"/.test(err)) {
    if (p.exitCode !== null) throw new Error(`serve exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child = p;
  return p;
}

async function kill(p: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill(sig);
  await gone;
}

const http = async (path: string) => (await fetch(`http://127.0.0.1:${httpPort}${path}`)).text();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'census-relay-cli-'));
  pki = makeTestPki();
  pf = await startPostfix({ domain: 'customer.example', mailboxes: ['alice.tb', 'carol.yahoo', 'crash'] });
  (await seededApp(dir)).close();
  [relayPort, httpPort] = (await freePorts(2)) as [number, number];
  configFile = join(dir, 'census.yaml');
  writeFileSync(
    configFile,
    stringify({
      db: join(dir, 'census.db'),
      http: { host: '127.0.0.1', port: httpPort },
      sign: { certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] },
      relay: { listen: { host: '127.0.0.1', port: relayPort }, upstream: `smtp://127.0.0.1:${pf.port}`, mode: 'recommended' },
    }),
  );
}, 180_000);

afterAll(async () => {
  if (child) await kill(child, 'SIGTERM');
  pf?.thaw();
  await pf?.stop();
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('smime-census serve with relay:', () => {
  it('relays mail from swaks, signs for the sign recipient, and reports relay and upstream in /healthz and /metrics', async () => {
    const p = await startServe();
    const r = spawnSync('swaks', ['--server', `127.0.0.1:${relayPort}`, '--from', SENDER, '--to', `${PEOPLE.signer},${PEOPLE.noSign}`, '--header', `From: ${SENDER}`, '--header', 'Subject: swaks invoice'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/<-\s+250 2\.0\.0 Ok: relayed \(1 signed, 1 unsigned\)/);
    const [signed] = await pf.waitForMessages('alice.tb', 1);
    expect(opensslVerifyMessage(pki, submittedBytes(signed!)).ok).toBe(true);
    const [plain] = await pf.waitForMessages('carol.yahoo', 1);
    expect(plain!.toString()).not.toMatch(/multipart\/signed/);

    const health = JSON.parse(await http('/healthz')) as { relay: { listening: boolean; port: number; upstream: { reachable: boolean; url: string } } };
    expect(health.relay).toMatchObject({ listening: true, port: relayPort, upstream: { reachable: true, url: `smtp://127.0.0.1:${pf.port}` } });
    const metrics = await http('/metrics');
    expect(metrics).toMatch(/^smime_census_relay_messages_total 1$/m);
    expect(metrics).toMatch(/^smime_census_relay_split_total 1$/m);
    expect(metrics).toMatch(/^smime_census_relay_copies_total\{kind="signed"\} 1$/m);
    expect(metrics).toMatch(/^smime_census_relay_upstream_duration_seconds_count 2$/m);
    expect(metrics).toMatch(/^# TYPE smime_census_relay_upstream_duration_seconds histogram$/m);
    expect(metrics).toMatch(/^smime_census_relay_upstream_duration_seconds_bucket\{le="\+Inf"\} 2$/m);
    // one exposition: every metric family is declared once (the relay's registry beside the service's)
    const types = metrics.match(/^# TYPE \S+/gm) ?? [];
    expect(new Set(types).size).toBe(types.length);

    await pf.halt();
    // a failed hand-over flips the upstream's health at once (no need to wait for the next probe)
    const failed = await submit({ port: relayPort, from: SENDER, to: [PEOPLE.noSign], data: crlf([`From: ${SENDER}`, 'Subject: down', '', 'x']) });
    expect(failed.code).toBe(451);
    const after = JSON.parse(await http('/healthz')) as { relay: { upstream: { reachable: boolean; lastError: string } } };
    expect(after.relay.upstream.reachable).toBe(false);
    expect(after.relay.upstream.lastError).toMatch(/ECONNREFUSED|ECONNECTION/);
    await pf.resume();
    await kill(p, 'SIGTERM');
    child = null;
  });

  it('never answers 250 when killed mid-transaction; the retry after restart delivers exactly once', async () => {
    let p = await startServe();
    const data = crlf([`From: Billing <${SENDER}>`, 'To: crash@customer.example', 'Subject: crash test', `Message-ID: <crash-${Date.now()}@example.test>`, '', 'Deliver me once.']);
    // Postfix hangs: connections are accepted by the kernel but never greeted
    pf.freeze();
    const first = submit({ port: relayPort, from: SENDER, to: ['crash@customer.example'], data });
    // wait until the relay holds the transaction (client has sent DATA, upstream is being tried)
    const deadline = Date.now() + 30_000;
    while (!/^smime_census_relay_transactions_in_flight 1$/m.test(await http('/metrics'))) {
      if (Date.now() > deadline) throw new Error('the relay never started handing the message over');
      await new Promise((r) => setTimeout(r, 50));
    }
    await kill(p, 'SIGKILL');
    const crashed = await first;
    expect(crashed.code).not.toBe(250);
    expect(crashed.code).toBeNull(); // the connection dropped without any reply
    pf.thaw();
    p = await startServe();
    const retried = await submit({ port: relayPort, from: SENDER, to: ['crash@customer.example'], data, retryForMs: 30_000 });
    expect(retried.code).toBe(250);
    const got = await pf.waitForMessages('crash', 1);
    expect(submittedBytes(got[0]!).equals(data)).toBe(true);
    // the killed relay's upstream connection never reached DATA: nothing was queued for it
    await pf.drained();
    expect(pf.messages('crash')).toHaveLength(1);
    await kill(p, 'SIGTERM');
    child = null;
  });
});

describe('smime-census relay passwd', () => {
  it('prints a users-file line whose hash verifies the password read from stdin (never argv)', async () => {
    const r = spawnSync(process.execPath, [CLI, 'relay', 'passwd', 'billing'], { input: 'pw-from-stdin\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^billing:scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
    const file = join(dir, 'users');
    writeFileSync(file, r.stdout);
    const db = loadUsers(file);
    expect(await db.verify('billing', 'pw-from-stdin')).toBe(true);
    expect(await db.verify('billing', 'pw-from-stdin\n')).toBe(false);
  });
});
