/**
 * A real, throwaway Postfix for tests and benchmarks: its own config_directory and
 * queue_directory in a temp dir, SMTP on a free loopback port only, mail for the test domain
 * delivered by the virtual(8) agent into one Maildir per local part, the mail log written to a
 * file (postlogd; no syslog needed). Never touches /etc/postfix: every command gets `-c DIR`.
 *
 * Postfix's master must start as root (it drops to `mail_owner`); as any other user the helper
 * throws PostfixUnavailableError with the reason, so a test can say why it cannot run.
 *
 * Callers add their own transports with `mainCf` / `masterCf` (e.g. a pipe(8) into the census):
 * lines are appended, so a later `key = value` overrides the defaults written here.
 *
 * Only node: imports, so scripts/bench can use a built copy (esbuild) without the project build.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostfixServer {
  host: string;
  /** The smtpd(8) port (plain SMTP, no TLS unless `tls` was asked for). */
  port: number;
  /** Domain whose recipients are delivered into Maildirs (`<local>@<domain>` -> maildir(local)). */
  domain: string;
  /** The throwaway directory: config/, queue/, data/, mail/, maillog. */
  dir: string;
  /** config_directory (main.cf, master.cf), to pass to `postfix -c` / `postconf -c` / MAIL_CONFIG. */
  configDir: string;
  /** `mail_version`, e.g. `3.7.11`. */
  version: string;
  /** PEM of the self-signed certificate when started with `tls: true` (clients verify against it). */
  caFile: string | null;
  /** The Maildir of one local part (created on first delivery). */
  maildir(local: string): string;
  /** Raw bytes of every delivered message for a local part (new/ and cur/), oldest first. */
  messages(local: string): Buffer[];
  /** Waits until `local` has at least `count` messages (condition, not a sleep); returns them. */
  waitForMessages(local: string, count: number, timeoutMs?: number): Promise<Buffer[]>;
  /** Number of messages still in the queue (incoming, active, deferred, hold, maildrop). */
  queued(): number;
  /**
   * Waits until the queue is empty. A Maildir file appears before qmgr deletes its queue file
   * (and a queue file with several recipients stays until the last is delivered), so "the
   * message arrived" does not mean "the queue is empty": assert exact counts after this.
   */
  drained(timeoutMs?: number): Promise<void>;
  /** The mail log so far (for assertions and failure messages). */
  log(): string;
  /**
   * SIGSTOPs the master and every Postfix process under it: the port still accepts TCP
   * connections (the kernel's backlog) but nobody greets — an MTA that hangs. thaw() resumes.
   */
  freeze(): void;
  thaw(): void;
  /** `postfix reload`: re-reads main.cf and the lookup tables (waits until smtpd greets again). */
  reload(): Promise<void>;
  /** `postfix stop`: the port stops accepting; queue and mail stay. */
  halt(): Promise<void>;
  /** `postfix start` again on the same port with the same data. */
  resume(): Promise<void>;
  /** Stops Postfix for good and deletes its directory (unless `keep`). */
  stop(): Promise<void>;
}

export interface StartPostfixOptions {
  /** Default `example.test`. */
  domain?: string;
  /** Local parts that have a Maildir; any other recipient of `domain` is refused with 550. */
  mailboxes?: readonly string[];
  /** Extra main.cf lines: a key the defaults set replaces the default in place (see onceEach), a new key is appended. */
  mainCf?: string;
  /** Extra master.cf lines (appended). */
  masterCf?: string;
  /** Offer STARTTLS with a self-signed certificate for 127.0.0.1 (see `caFile`). */
  tls?: boolean;
  /** message_size_limit in bytes; default 64 MiB. */
  messageSizeLimit?: number;
  /** Keep the directory after stop() (debugging). */
  keep?: boolean;
}

/** The mailboxes a default instance has (recipients `<name>@example.test`). */
export const DEFAULT_MAILBOXES: readonly string[] = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'sink'];

/** Thrown with a clear message when Postfix cannot run here (not installed, not root). */
export class PostfixUnavailableError extends Error {}

const POSTFIX = '/usr/sbin/postfix';
const DAEMON_DIR = '/usr/lib/postfix/sbin';

/** Starts a Postfix on a free loopback port in a fresh temp directory; resolves once smtpd greets. */
export async function startPostfix(opts: StartPostfixOptions = {}): Promise<PostfixServer> {
  if (!existsSync(POSTFIX) || !existsSync(join(DAEMON_DIR, 'master'))) throw new PostfixUnavailableError('postfix is not installed (scripts/test-deps.sh installs it)');
  if (userInfo().uid !== 0) throw new PostfixUnavailableError('the Postfix test instance needs root (its master drops privileges to the postfix user)');
  const owner = systemUser('postfix');
  const domain = opts.domain ?? 'example.test';
  const host = '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'smime-census-postfix-'));
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'config');
  const queueDir = join(dir, 'queue');
  const dataDir = join(dir, 'data');
  const mailDir = join(dir, 'mail');
  for (const d of [configDir, queueDir]) mkdirSync(d, { mode: 0o755 });
  // Postfix insists: the queue root is root's, data_directory and the mailboxes the mail owner's.
  for (const d of [dataDir, mailDir]) {
    mkdirSync(d, { mode: 0o755 });
    chownSync(d, owner.uid, owner.gid);
  }
  const port = (await freePorts(1))[0]!;
  let caFile: string | null = null;
  let tlsLines = '';
  if (opts.tls) {
    caFile = join(configDir, 'cert.pem');
    const keyFile = join(configDir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', caFile], { stdio: 'ignore' });
    chmodSync(keyFile, 0o600);
    tlsLines = [`smtpd_tls_cert_file = ${caFile}`, `smtpd_tls_key_file = ${keyFile}`, 'smtpd_tls_security_level = may', 'smtpd_tls_loglevel = 1'].join('\n');
  }
  const vmailbox = join(configDir, 'vmailbox');
  const mailboxes = opts.mailboxes ?? DEFAULT_MAILBOXES;
  for (const m of mailboxes) if (!/^[a-z0-9._+-]+$/.test(m)) throw new Error(`mailbox name ${JSON.stringify(m)}: use [a-z0-9._+-] only`);
  // one Maildir per local part (trailing slash = Maildir); texthash needs no postmap, and
  // virtual(8) forbids regexp substitution, so the list is explicit: others get 550 at RCPT
  writeFileSync(vmailbox, mailboxes.map((m) => `${m}@${domain}\t${m}/\n`).join(''));
  const main = [
    '# written by test/helpers/postfix.ts: a throwaway loopback-only instance',
    'compatibility_level = 3.6',
    `config_directory = ${configDir}`,
    `queue_directory = ${queueDir}`,
    `data_directory = ${dataDir}`,
    `daemon_directory = ${DAEMON_DIR}`,
    'command_directory = /usr/sbin',
    'meta_directory = /etc/postfix',
    'shlib_directory = /usr/lib/postfix',
    'mail_owner = postfix',
    'setgid_group = postdrop',
    // postlogd only writes below maillog_file_prefixes (default /var, /dev/stdout)
    `maillog_file_prefixes = ${dir}`,
    `maillog_file = ${join(dir, 'maillog')}`,
    'myhostname = mx.census.test',
    'mydomain = census.test',
    'myorigin = $mydomain',
    'mydestination =',
    'alias_maps =',
    'alias_database =',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    'smtpd_recipient_restrictions =',
    // no Message-ID/Date/From added or addresses rewritten: tests compare what was submitted
    'local_header_rewrite_clients =',
    `virtual_mailbox_domains = ${domain}`,
    `virtual_mailbox_base = ${mailDir}`,
    `virtual_mailbox_maps = texthash:${vmailbox}`,
    `virtual_uid_maps = static:${owner.uid}`,
    `virtual_gid_maps = static:${owner.gid}`,
    `virtual_minimum_uid = ${Math.min(owner.uid, 100)}`,
    `message_size_limit = ${opts.messageSizeLimit ?? 64 * 1024 * 1024}`,
    'virtual_mailbox_limit = 0',
    'smtputf8_enable = yes',
    // a test instance answers at once and never looks up DNS or waits for a slow client
    'smtpd_banner = $myhostname ESMTP',
    'disable_dns_lookups = yes',
    'smtp_dns_support_level = disabled',
    'smtpd_peername_lookup = no',
    'biff = no',
    'queue_run_delay = 1s',
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    'smtpd_error_sleep_time = 0',
    'in_flow_delay = 0',
    'default_process_limit = 50',
    'smtpd_client_connection_count_limit = 0',
    'smtpd_client_connection_rate_limit = 0',
    'anvil_rate_time_unit = 60s',
    tlsLines,
    opts.mainCf ?? '',
  ];
  writeFileSync(join(configDir, 'main.cf'), onceEach(main).join('\n') + '\n');
  // chroot off everywhere: the chroot would need copies of /etc files inside the temp queue.
  const master = [
    `${host}:${port} inet n - n - - smtpd`,
    'pickup    unix  n       -       n       60      1       pickup',
    'cleanup   unix  n       -       n       -       0       cleanup',
    'qmgr      unix  n       -       n       300     1       qmgr',
    'tlsmgr    unix  -       -       n       1000?   1       tlsmgr',
    'rewrite   unix  -       -       n       -       -       trivial-rewrite',
    'bounce    unix  -       -       n       -       0       bounce',
    'defer     unix  -       -       n       -       0       bounce',
    'trace     unix  -       -       n       -       0       bounce',
    'verify    unix  -       -       n       -       1       verify',
    'flush     unix  n       -       n       1000?   0       flush',
    'proxymap  unix  -       -       n       -       -       proxymap',
    'proxywrite unix -       -       n       -       1       proxymap',
    'smtp      unix  -       -       n       -       -       smtp',
    'relay     unix  -       -       n       -       -       smtp',
    'showq     unix  n       -       n       -       -       showq',
    'error     unix  -       -       n       -       -       error',
    'retry     unix  -       -       n       -       -       error',
    'discard   unix  -       -       n       -       -       discard',
    'local     unix  -       n       n       -       -       local',
    'virtual   unix  -       n       n       -       -       virtual',
    'lmtp      unix  -       -       n       -       -       lmtp',
    'anvil     unix  -       -       n       -       1       anvil',
    'scache    unix  -       -       n       -       1       scache',
    'postlog   unix-dgram n  -       n       -       1       postlogd',
    opts.masterCf ?? '',
  ].join('\n');
  writeFileSync(join(configDir, 'master.cf'), master + '\n');

  const env = { ...process.env, MAIL_CONFIG: configDir };
  const postfix = async (...args: string[]): Promise<void> => {
    try {
      await run(POSTFIX, ['-c', configDir, ...args], { env });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`postfix ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim()} ${tail(join(dir, 'maillog'))}`);
    }
  };
  const version = execFileSync('/usr/sbin/postconf', ['-c', configDir, '-h', 'mail_version'], { env }).toString().trim();
  // creates the queue subdirectories with Postfix's own ownership rules (postfix-files)
  await postfix('set-permissions');
  await postfix('check');

  let running = false;
  // set below once the pid helpers exist; halt() must wake a frozen instance before stopping it
  let signalAllSafe: (sig: NodeJS.Signals) => void = () => undefined;
  const exitHook = () => {
    if (running) execFileSync(POSTFIX, ['-c', configDir, 'abort'], { env, stdio: 'ignore' });
  };
  const resume = async (): Promise<void> => {
    await postfix('start');
    running = true;
    process.once('exit', exitHook);
    await waitForGreeting(host, port, 20_000);
  };
  const halt = async (): Promise<void> => {
    if (!running) return;
    signalAllSafe('SIGCONT');
    await postfix('stop');
    running = false;
    process.off('exit', exitHook);
    await waitForClosed(host, port, 20_000);
  };
  await resume();

  const maildir = (local: string) => join(mailDir, local);
  const messages = (local: string): Buffer[] => {
    const files: Array<{ path: string; name: string }> = [];
    for (const sub of ['new', 'cur']) {
      const d = join(maildir(local), sub);
      if (!existsSync(d)) continue;
      for (const name of readdirSync(d)) files.push({ path: join(d, name), name });
    }
    // Postfix names a Maildir file `SECONDS.VdevIinodeMmicroseconds.host`: delivery order is
    // (seconds, microseconds). The inode in between is not ordered, so a plain name sort is not.
    const when = (name: string): [number, number] => {
      const m = /^(\d{1,12})\.V[0-9a-f]{1,16}I[0-9a-f]{1,16}M(\d{1,7})\./.exec(name);
      return m ? [Number(m[1]), Number(m[2])] : [Number.MAX_SAFE_INTEGER, 0];
    };
    files.sort((a, b) => {
      const [as, au] = when(a.name);
      const [bs, bu] = when(b.name);
      return as - bs || au - bu || a.name.localeCompare(b.name);
    });
    return files.map((f) => readFileSync(f.path));
  };
  const instancePids = (): number[] => {
    const masterPid = Number(readFileSync(join(queueDir, 'pid', 'master.pid'), 'utf8').trim());
    const parents = new Map<number, number>();
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const ppid = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'));
        if (ppid) parents.set(Number(e), Number(ppid[1]));
      } catch {
        // the process ended meanwhile
      }
    }
    const out = [masterPid];
    for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parents) if (ppid === out[i]) out.push(pid);
    return out;
  };
  const signalAll = (sig: NodeJS.Signals) => {
    for (const pid of instancePids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  };
  signalAllSafe = (sig) => {
    try {
      signalAll(sig);
    } catch {
      // not running
    }
  };
  return {
    host,
    port,
    domain,
    freeze: () => signalAll('SIGSTOP'),
    thaw: () => signalAll('SIGCONT'),
    dir,
    configDir,
    version,
    caFile,
    maildir,
    messages,
    async waitForMessages(local, count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = messages(local);
        if (m.length >= count) return m;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} message(s) for ${local} (have ${m.length}); queue ${countQueue(queueDir)}; ${tail(join(dir, 'maillog'))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    queued: () => countQueue(queueDir),
    async drained(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (countQueue(queueDir) > 0) {
        if (Date.now() > deadline) throw new Error(`the queue still holds ${countQueue(queueDir)} message(s) after ${timeoutMs} ms; ${tail(join(dir, 'maillog'))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    log: () => (existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8') : ''),
    halt,
    resume,
    async reload() {
      await postfix('reload');
      await waitForGreeting(host, port, 20_000);
    },
    async stop() {
      await halt();
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What the client submitted, from a delivered Maildir file: drops the trace headers Postfix
 * prepends (Return-Path, X-Original-To, Delivered-To, its own Received) and turns the Maildir's
 * LF line ends back into the CRLF of SMTP. The rest is byte for byte what the client sent.
 */
export function submittedBytes(delivered: Buffer, myhostname = 'mx.census.test'): Buffer {
  const text = delivered.toString('latin1');
  let pos = 0;
  for (;;) {
    const end = nextFieldEnd(text, pos);
    const field = text.slice(pos, end);
    if (/^(Return-Path|X-Original-To|Delivered-To):/i.test(field)) pos = end;
    else if (/^Received:/i.test(field) && field.includes(`by ${myhostname} (Postfix)`)) {
      pos = end;
      break;
    } else break;
  }
  return Buffer.from(text.slice(pos).replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** End of the header field starting at `pos` (folded continuation lines included). */
function nextFieldEnd(text: string, pos: number): number {
  let i = pos;
  for (;;) {
    const nl = text.indexOf('\n', i);
    if (nl === -1) return text.length;
    i = nl + 1;
    if (text[i] !== ' ' && text[i] !== '\t') return i;
  }
}

/**
 * main.cf lines with each parameter set once: a caller's `mainCf` line replaces the default of
 * the same name where the default stood. A parameter set twice is legal but makes every Postfix
 * program warn "overriding earlier entry" as it starts, and those warnings go to postlogd through
 * its own socket: after a restart the burst from postfix-script and each postconf filled the
 * socket's queue, postlogd blocked writing its own warning into it, and from then on every
 * Postfix process blocked on its first log line (smtpd never greeted; seen in relay.test.ts's
 * outage test, with `master -t` stuck in unix_wait_for_peer). Continuation lines are refused.
 */
export function onceEach(lines: readonly string[]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const line of lines.join('\n').split('\n')) {
    if (/^[ \t]+\S/.test(line)) throw new Error(`main.cf: continuation lines are not supported here: ${JSON.stringify(line)}`);
    const key = /^([A-Za-z0-9_]+)[ \t]*=/.exec(line)?.[1];
    if (key !== undefined && at.has(key)) {
      out[at.get(key)!] = line;
      continue;
    }
    if (key !== undefined) at.set(key, out.length);
    out.push(line);
  }
  return out;
}

function countQueue(queueDir: string): number {
  let n = 0;
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else n++;
    }
  };
  for (const q of ['maildrop', 'incoming', 'active', 'deferred', 'hold']) walk(join(queueDir, q));
  return n;
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new PostfixUnavailableError(`the ${name} system user is missing (the Debian postfix package creates it)`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}


function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return '\n--- maillog ---\n' + readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
}

/** Free TCP ports on loopback (bound and released; Postfix binds them right after). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function probe(host: string, port: number): Promise<'greeting' | 'refused' | 'other'> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let buf = '';
    const done = (r: 'greeting' | 'refused' | 'other') => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(2000, () => done('other'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (/^220[ -]/m.test(buf)) done('greeting');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'other'));
    sock.on('close', () => done('other'));
  });
}

async function waitForGreeting(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await probe(host, port)) !== 'greeting') {
    if (Date.now() > deadline) throw new Error(`postfix did not greet on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForClosed(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await probe(host, port)) !== 'refused') {
    if (Date.now() > deadline) throw new Error(`postfix still listens on ${host}:${port} ${timeoutMs} ms after stop`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
