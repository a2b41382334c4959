// IMAP poll throughput and memory against a real Dovecot (test/helpers/dovecot.ts, built here
// with esbuild into a temp dir), one folder of generated mail from real client fingerprints
// (test/source/imap/messages.ts: text, HTML alternatives, attachments), with the sender skew of
// _data.mjs and 5% really signed messages (_smime.mjs; the poller fetches and verifies them).
//   (a) floor: an imapflow loop fetching the same headers as the poller (UID FETCH 1:* of
//       BODY.PEEK[HEADER]<0.MAX_HEADER_BYTES+2>), doing nothing else; (a') reported: the same
//       loop with HEADER.FIELDS of the fields parse uses (the poller's fetch before: 4x the
//       client CPU per message, imapflow tokenises and re-compiles the echoed field list)
//   (b) `smime-census poll --once` end to end into SQLite (child process; peak RSS from VmHWM),
//       asserting read, stored and the observation row count, and the harvested certificates
//   (c) naive: fetch each full message and run mailparser's simpleParser (smaller sample)
// Each in two cases, pair by pair: warm (Dovecot's index and cache already built) and cold
// (Dovecot's index files deleted and the server restarted before each pass, so it re-indexes,
// as on a first backfill). Targets: (b) >= 0.7x (a) warm and cold, (b) >= 4x (c), peak RSS of
// (b) <= 250 MB. With --scale also (b'): (b) warm with --no-worker (reported).
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { senderOf, SIGNED_SHARE } from './_data.mjs';
import { smimePool } from './_smime.mjs';
import { peakRss } from './_proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function buildTs(entry, outDir) {
  const outfile = join(outDir, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(ROOT, entry)], format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

function runPoll(cfg, extra = []) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // BENCH_IMAP_PROF=DIR writes a V8 CPU profile of every poll process into DIR.
    const prof = process.env.BENCH_IMAP_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_IMAP_PROF] : [];
    const child = spawn(process.execPath, [...prof, join(ROOT, 'dist', 'cli', 'main.js'), '--config', cfg, '--log-level', 'warn', 'poll', '--once', '--json', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let peak = 0;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // VmHWM is the peak resident set; sampled until exit (it only grows, so the last sample is the peak).
    const timer = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 50);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(timer);
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`poll exited ${code}: ${err.slice(-2000)}`));
      resolve({ ms, peak, summary: JSON.parse(out) });
    });
  });
}

/** Message i: the generator's message with a skewed sender, or (5%) a really signed one. */
function imapMessage(gen, templates, pool, i, N) {
  const s = senderOf(i, N, pool);
  if (!s.signer) {
    const raw = gen(i).toString('latin1');
    const eol = raw.indexOf('\r\n');
    return Buffer.from(`From: ${s.address.slice(0, s.address.indexOf('@'))} <${s.address}>` + raw.slice(eol), 'latin1');
  }
  const t = templates[i % templates.length];
  const b = s.signer.bodies[i % s.signer.bodies.length];
  const date = new Date(Date.UTC(2025, 0, 6, 9) + i * 60_000);
  const head = [
    `From: ${s.address.slice(0, s.address.indexOf('@'))} <${s.address}>`,
    'To: Support <support@company.example>',
    `Subject: Ticket ${i}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <signed-${i}.${(Math.imul(i, 2654435761) >>> 0).toString(36)}@client.example>`,
    ...t.lines.filter((l, k, all) => {
      // drop the template's MIME structure fields (and their folded continuations)
      let j = k;
      while (j > 0 && /^[ \t]/.test(all[j])) j--;
      return !/^(content-type|mime-version|content-transfer-encoding):/i.test(all[j]);
    }),
    ...b.headers,
  ];
  return Buffer.from((head.join('\n') + '\n\n' + b.body).replace(/\r?\n/g, '\r\n'), 'latin1');
}

export default async function imapBench(ctx) {
  // 10k messages (~370 MB of Maildir at ~37 KB each): a pass lasts long enough that poll's
  // process start-up (counted against it) is a few per cent, not the figure.
  const N = ctx.quick ? 5_000 : 10_000;
  const NAIVE = ctx.quick ? 1_000 : 1_500;
  const REPEAT = ctx.quick ? 2 : 3;
  const tmp = ctx.tmp('imap-');
  const { startDovecot } = await buildTs('test/helpers/dovecot.ts', tmp);
  const { loadTemplates, makeMessage, fixturesDir } = await buildTs('test/source/imap/messages.ts', tmp);
  const { ImapFlow } = await import('imapflow');
  const { simpleParser } = await import('mailparser');
  const { imapFetchFields } = await import(pathToFileURL(join(ROOT, 'dist', 'app', 'poll.js')).href);
  const { MAX_HEADER_BYTES } = await import(pathToFileURL(join(ROOT, 'dist', 'core', 'index.js')).href);
  const fields = imapFetchFields();
  // Exactly the poller's header fetch (src/source/imap/folder.ts).
  const headerQuery = { uid: true, internalDate: true, bodyParts: [{ key: 'HEADER', maxLength: MAX_HEADER_BYTES + 2 }] };
  const fieldsQuery = { uid: true, internalDate: true, headers: fields };
  const pool = smimePool(ctx.cacheDir ?? ctx.tmp('pki-'), { signers: ctx.quick ? 40 : 80 });

  const began = performance.now();
  const at = () => `${((performance.now() - began) / 1000).toFixed(0)} s in`;
  const server = await startDovecot();
  try {
    const templates = loadTemplates(fixturesDir(ROOT));
    // Support-mailbox sizes: a text part, an HTML alternative in 60%, and in every 5th message
    // an attachment (invoice, screenshot, log) of 30-600 KB: average message ~70 KB, in line
    // with published averages for business mail; headers are ~1-2 KB of it.
    // Templates whose Content-Type claims S/MIME are used for really signed messages only.
    const plain = templates.filter((t) => !t.lines.some((l) => /^content-type:.*(pkcs7|multipart\/signed)/i.test(l)));
    const gen = (i) => makeMessage(plain, i, { attachmentEvery: 5, attachmentSizes: [30_000, 100_000, 250_000, 600_000], htmlShare: 0.6, users: 20_000 });
    let bytes = 0;
    const signers = new Set();
    let signed = 0;
    for (let i = 0; i < N; i += 5_000) {
      const batch = [];
      for (let k = i; k < Math.min(N, i + 5_000); k++) {
        const s = senderOf(k, N, pool);
        if (s.signer) {
          signed++;
          signers.add(s.address);
        }
        batch.push(imapMessage(gen, templates, pool, k, N));
      }
      for (const b of batch) bytes += b.length;
      await server.deliver('Bench', batch);
    }
    ctx.size('messages', N);
    ctx.size('bytes', bytes);
    ctx.size('signedMessages', signed);
    ctx.size('signedShareTarget', SIGNED_SHARE);
    ctx.size('naiveMessages', NAIVE);
    ctx.log(`delivered ${N} messages (${signed} signed by ${signers.size} signers), ${(bytes / 1e6).toFixed(0)} MB, dovecot ${server.version} (${at()})`);
    const ca = readFileSync(server.caFile);
    const client = () =>
      new ImapFlow({ host: server.host, port: server.port, secure: true, auth: { user: server.user, pass: server.password }, tls: { ca }, logger: false, disableAutoIdle: true, disableCompression: true });
    const folderDir = join(server.maildir, '.Bench');
    // A cold pass: Dovecot's index, cache and log files for the folder deleted, server restarted.
    const makeCold = async () => {
      await server.halt();
      for (const f of readdirSync(folderDir)) if (f.startsWith('dovecot.index')) rmSync(join(folderDir, f), { force: true });
      await server.resume();
    };

    const floorPass = async (query = headerQuery) => {
      const c = client();
      await c.connect();
      await c.mailboxOpen('Bench', { readOnly: true });
      let n = 0;
      for await (const m of c.fetch('1:*', query, { uid: true })) if (m.headers) n++;
      await c.logout();
      if (n !== N) throw new Error(`floor fetched ${n} of ${N}`);
    };
    const pwFile = join(tmp, 'pw');
    writeFileSync(pwFile, server.password, { mode: 0o600 });
    let run = 0;
    const runs = [];
    const pollPass = async (extra = []) => {
      const db = join(tmp, `census-${run}.db`);
      const cfg = join(tmp, `census-${run++}.json`);
      writeFileSync(
        cfg,
        JSON.stringify({
          db,
          sign: { trustedCaFiles: [pool.rootCertFile] },
          accounts: [{ name: 'bench', host: server.host, port: server.port, user: server.user, passwordFile: pwFile, caFile: server.caFile, folders: ['Bench'] }],
        }),
      );
      const res = await runPoll(cfg, extra);
      const c = res.summary.folders[0].counts;
      const d = new Database(db, { readonly: true });
      const rows = d.prepare('SELECT count(*) FROM observations').pluck().get();
      const certs = d.prepare('SELECT count(DISTINCT address) FROM certificates').pluck().get();
      d.close();
      for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
      if (c.read !== N || c.stored !== N || rows !== N) throw new Error(`poll: read ${c.read}, stored ${c.stored}, ${rows} rows of ${N}`);
      if (certs !== signers.size) throw new Error(`poll harvested the certificates of ${certs} of ${signers.size} signers`);
      runs.push(res);
      return { ms: res.ms };
    };

    // Warm: one untimed floor pass makes Dovecot index and cache the folder; a poll needs no
    // warm-up of its own (every pass is a fresh process on a fresh database).
    await floorPass();
    const warm = await ctx.pairs(() => pollPass(), () => floorPass(), REPEAT, { warmup: false });
    // (a') one pass of the HEADER.FIELDS form, for the record (reported, not a floor: it is slower).
    let t0 = performance.now();
    await floorPass(fieldsQuery);
    const fieldsMs = performance.now() - t0;
    ctx.log(`warm: floor ${(N / (warm.medianB / 1000)).toFixed(0)} msg/s, poll --once ${(N / (warm.medianA / 1000)).toFixed(0)} msg/s (whole process incl. start-up), HEADER.FIELDS ${(N / (fieldsMs / 1000)).toFixed(0)} msg/s (${at()})`);
    // Cold: the index rebuilt by whichever pass comes first after makeCold.
    const coldA = [];
    const coldB = [];
    const coldR = [];
    for (let r = 0; r < REPEAT; r++) {
      await makeCold();
      t0 = performance.now();
      await floorPass();
      const f = performance.now() - t0;
      await makeCold();
      const p = (await pollPass()).ms;
      coldA.push(p);
      coldB.push(f);
      coldR.push(p / f);
    }
    ctx.log(`cold: floor ${(N / (ctx.median(coldB) / 1000)).toFixed(0)} msg/s, poll --once ${(N / (ctx.median(coldA) / 1000)).toFixed(0)} msg/s (${at()})`);

    // (b') for the record, with --scale only (a diagnostic, no target; ~25 s of the default
    // budget): the same poll with ingest on the main thread (--no-worker), warm.
    const inThread = ctx.scale ? await ctx.pairs(() => pollPass(['--no-worker']), () => floorPass(), REPEAT, { warmup: false }) : null;
    if (inThread) ctx.log(`warm --no-worker: poll --once ${(N / (inThread.medianA / 1000)).toFixed(0)} msg/s (${at()})`);
    const peakMb = Math.max(...runs.map((r) => r.peak)) / 1048576;

    // (c) naive: full messages + simpleParser, on a sample (warm index).
    const naivePass = async () => {
      const c = client();
      await c.connect();
      await c.mailboxOpen('Bench', { readOnly: true });
      let n = 0;
      // Parsing inside the loop issues no IMAP command, so this is safe with imapflow.
      for await (const m of c.fetch(`1:${NAIVE}`, { uid: true, source: true }, { uid: true })) if ((await simpleParser(m.source)).headers) n++;
      await c.logout();
      if (n !== NAIVE) throw new Error(`naive parsed ${n} of ${NAIVE}`);
    };
    const naiveMs = await ctx.timeMedian(naivePass, REPEAT, { warmup: false });
    const naiveRate = NAIVE / (naiveMs / 1000);
    ctx.log(`(c) naive full fetch + simpleParser: ${naiveRate.toFixed(0)} msg/s (${at()})`);

    const rate = (ms) => N / (ms / 1000);
    const warmRatios = warm.ratios.map((r) => 1 / r);
    const coldRatios = coldR.map((r) => 1 / r);
    return [
      { name: `(a) floor warm: imapflow header fetch, ${N} msgs`, value: rate(warm.medianB), unit: 'msg/s', samples: warm.b.map(rate) },
      { name: `(a') HEADER.FIELDS fetch of ${fields.length} fields (the poller's fetch before), warm`, value: rate(fieldsMs), unit: 'msg/s', baseline: rate(warm.medianB), ratio: rate(fieldsMs) / rate(warm.medianB), target: 'reported' },
      { name: `(b) poll --once into SQLite vs floor, warm (5% signed)`, value: rate(warm.medianA), unit: 'msg/s', baseline: rate(warm.medianB), ratio: ctx.median(warmRatios), samples: warmRatios, target: '>= 0.7x', pass: ctx.median(warmRatios) >= 0.7 },
      { name: `(b) poll --once into SQLite vs floor, cold Dovecot index (5% signed)`, value: rate(ctx.median(coldA)), unit: 'msg/s', baseline: rate(ctx.median(coldB)), ratio: ctx.median(coldRatios), samples: coldRatios, target: '>= 0.7x', pass: ctx.median(coldRatios) >= 0.7 },
      ...(inThread
        ? [{ name: `(b') poll --once --no-worker (ingest on the main thread) vs floor, warm`, value: rate(inThread.medianA), unit: 'msg/s', baseline: rate(inThread.medianB), ratio: ctx.median(inThread.ratios.map((r) => 1 / r)), samples: inThread.ratios.map((r) => 1 / r), target: 'reported' }]
        : []),
      { name: `(b) vs (c) naive full fetch + simpleParser (${NAIVE} msgs)`, value: rate(warm.medianA), unit: 'msg/s', baseline: naiveRate, ratio: rate(warm.medianA) / naiveRate, target: '>= 4x', pass: rate(warm.medianA) >= 4 * naiveRate },
      { name: '(b) peak RSS of poll --once', value: peakMb, unit: 'MB', samples: runs.map((r) => r.peak / 1048576), target: '<= 250 MB', pass: peakMb <= 250 },
    ];
  } finally {
    await server.stop();
  }
}
