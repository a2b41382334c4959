// Signing relay throughput (issue 16): 4 KB messages from 8 concurrent client connections,
//   (a) through `smime-census relay` (child process; census lookup per recipient, every message
//       S/MIME-signed, handed to Postfix over the relay's pooled upstream connections), against
//   (b) the peer: the same client submitting the same messages straight to the same Postfix
//       (test/helpers/postfix.ts, built here with esbuild), in the same run, pair by pair.
// Target: throughput (a) >= 0.5x (b) (median of per-round ratios); p99 added latency reported
// (p99 of (a) per-message latency minus p99 of (b), pooled over the rounds); peak RSS (VmHWM) of
// the relay under that load <= 150 MB; the relay's CPU per message (user+sys, thread pool
// included) is reported too. Needs root (Postfix's master) and `npm run build`.
// BENCH_RELAY_PROF=DIR writes a V8 CPU profile of the relay process into DIR.
import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createServer } from 'node:net';
import nodemailer from 'nodemailer';
import { cpuMicros, peakRss } from './_proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONNECTIONS = 8;

async function buildTs(entry, outDir) {
  const outfile = join(outDir, entry.replace(/[/.]/g, '_') + '.mjs');
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

function message4k(i) {
  const line = 'The quick brown fox jumps over the lazy dog; invoice line item 0042 paid.\r\n';
  let body = '';
  while (body.length < 4096 - 300) body += line;
  return Buffer.from(
    `From: Billing <bench@example.test>\r\nTo: sink@customer.example\r\nSubject: Your invoice ${i}\r\nMessage-ID: <bench-${i}-${process.pid}@example.test>\r\n` +
      `Date: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${body}`,
  );
}

/** Sends `n` messages over CONNECTIONS pooled client connections; per-message latencies in ms. */
async function load(port, n, offset) {
  const client = nodemailer.createTransport({ pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity, host: '127.0.0.1', port, secure: false, ignoreTLS: true, logger: false });
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await client.sendMail({ envelope: { from: 'bench@example.test', to: ['sink@customer.example'] }, raw: message4k(offset + i) });
        latencies.push(performance.now() - s);
      }
    }),
  );
  const ms = performance.now() - t0;
  client.close();
  return { ms, latencies };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export default async function (ctx) {
  const dir = ctx.tmp('relay-');
  const { startPostfix } = await buildTs('test/helpers/postfix.ts', dir);
  const pf = await startPostfix({ domain: 'customer.example', mailboxes: ['sink'] });
  const keyFile = join(dir, 'k.pem');
  const certFile = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30',
    '-subj', '/CN=bench/emailAddress=bench@example.test', '-addext', 'extendedKeyUsage=emailProtection',
    '-addext', 'subjectAltName=email:bench@example.test', '-addext', 'keyUsage=critical,digitalSignature'], { stdio: 'pipe' });
  const relayPort = await freePort();
  const cfg = join(dir, 'relay.yaml');
  writeFileSync(cfg, JSON.stringify({
    db: join(dir, 'census.db'),
    sign: { certFile, keyFile },
    // recommended + unknown: signed -> a census lookup per recipient AND a signature per message
    relay: { listen: { host: '127.0.0.1', port: relayPort }, upstream: `smtp://127.0.0.1:${pf.port}`, mode: 'recommended', unknown: 'signed', upstreamConnections: CONNECTIONS },
  }));
  const relay = spawn(process.execPath, [...(process.env.BENCH_RELAY_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_RELAY_PROF] : []), join(ROOT, 'dist', 'cli', 'main.js'), '--config', cfg, '--log-level', 'warn', 'relay'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  relay.stderr.on('data', (d) => (err += d));
  let peak = 0;
  const rssTimer = setInterval(() => (peak = Math.max(peak, peakRss(relay.pid))), 50);
  try {
    // wait for the relay's greeting (condition, not a sleep)
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const t = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, ignoreTLS: true });
        await t.verify();
        t.close();
        break;
      } catch (e) {
        if (relay.exitCode !== null || Date.now() > deadline) throw new Error(`relay did not start: ${err || e.message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const n = ctx.quick ? 80 : 400;
    const rounds = ctx.quick ? 3 : 7;
    ctx.size('messages_per_round', n);
    ctx.size('rounds', rounds);
    ctx.size('client_connections', CONNECTIONS);
    ctx.size('message_bytes', message4k(0).length);
    let offset = 0;
    const relayLat = [];
    const directLat = [];
    const throughputRelay = [];
    const throughputDirect = [];
    let measuring = false;
    const relayCpu = [];
    const viaRelay = async () => {
      const cpu0 = cpuMicros(relay.pid);
      const r = await load(relayPort, n, (offset += n));
      if (measuring) relayLat.push(...r.latencies), throughputRelay.push((n / r.ms) * 1000), relayCpu.push((cpuMicros(relay.pid) - cpu0) / n / 1000);
      return { ms: r.ms };
    };
    const direct = async () => {
      const r = await load(pf.port, n, (offset += n));
      if (measuring) directLat.push(...r.latencies), throughputDirect.push((n / r.ms) * 1000);
      return { ms: r.ms };
    };
    // warm-up outside the measurement (JIT, pooled connections, Postfix's processes)
    await viaRelay();
    await direct();
    measuring = true;
    // a = direct, b = relay: t_direct / t_relay = relay throughput / direct throughput
    const p = await ctx.pairs(direct, viaRelay, rounds, { warmup: false });
    // every accepted message must have been delivered: relay answers 250 only after Postfix took it
    const expected = offset;
    await pf.waitForMessages('sink', expected, 300_000);
    // every message that went through the relay arrived signed, every direct one unsigned
    const delivered = pf.messages('sink');
    const signedCount = delivered.filter((m) => m.includes('multipart/signed')).length;
    const relayed = n * (rounds + 1);
    if (signedCount !== relayed) throw new Error(`${signedCount} signed messages delivered, expected ${relayed}`);
    const medianRelay = ctx.median(throughputRelay);
    const medianDirect = ctx.median(throughputDirect);
    const p99Added = pct(relayLat, 99) - pct(directLat, 99);
    const p50Added = pct(relayLat, 50) - pct(directLat, 50);
    ctx.log(`relay ${medianRelay.toFixed(0)} msg/s, direct ${medianDirect.toFixed(0)} msg/s, ratio ${p.ratio.toFixed(2)}; p99 relay ${pct(relayLat, 99).toFixed(1)} ms vs direct ${pct(directLat, 99).toFixed(1)} ms; peak RSS ${(peak / 1048576).toFixed(0)} MB; relay CPU ${ctx.median(relayCpu).toFixed(2)} ms/msg; ${signedCount} of ${delivered.length} delivered signed`);
    return [
      { name: 'relay throughput with signing vs direct submission to the same Postfix', value: medianRelay, unit: 'msg/s', baseline: medianDirect, ratio: p.ratio, target: 0.5, pass: p.ratio >= 0.5, samples: p.ratios },
      { name: 'relay p99 added latency (p99 relay - p99 direct, 8 connections)', value: p99Added, unit: 'ms', samples: [pct(relayLat, 99), pct(directLat, 99)] },
      { name: 'relay median added latency (p50 relay - p50 direct)', value: p50Added, unit: 'ms', samples: [pct(relayLat, 50), pct(directLat, 50)] },
      { name: 'relay CPU per message (user+sys of the relay process)', value: ctx.median(relayCpu), unit: 'ms', samples: relayCpu },
      { name: 'relay peak RSS under load (VmHWM)', value: peak / 1048576, unit: 'MB', target: 150, pass: peak > 0 && peak / 1048576 <= 150 },
    ];
  } finally {
    clearInterval(rssTimer);
    if (relay.exitCode === null) {
      const gone = new Promise((r) => relay.once('exit', r));
      relay.kill('SIGTERM');
      await gone;
    }
    await pf.stop();
  }
}
