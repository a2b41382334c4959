/**
 * A real, throwaway Dovecot IMAP server for tests and benchmarks: loopback only, free ports,
 * one passwd-file user, Maildir storage, implicit TLS (and a STARTTLS-capable plain port) with
 * a self-signed certificate made here whose subjectAltName covers 127.0.0.1 — clients verify it
 * against `caFile`, verification stays on.
 *
 * Works as root on a fresh Debian machine (mail is owned by the `mail` system user, never root)
 * and as an ordinary user (everything runs as that user). Dovecot 2.3 and 2.4 configs differ;
 * both are written here, chosen by `dovecot --version`.
 *
 * Only node: imports, so scripts/bench can use a built copy (esbuild) without the project build.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, renameSync, chownSync, chmodSync, rmSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** One message to deliver: raw bytes, or bytes plus Maildir flags (e.g. `S` for \Seen). */
export type Delivery = Uint8Array | string | { bytes: Uint8Array | string; flags?: string };

export interface DovecotServer {
  host: string;
  /** Implicit-TLS (imaps) port. */
  port: number;
  /** Plain port (the server offers STARTTLS there; imapflow upgrades automatically). */
  plainPort: number;
  user: string;
  password: string;
  /** PEM file with the server's self-signed certificate, to pass as the client's CA. */
  caFile: string;
  /** The user's Maildir root (INBOX); folder `X` lives in `<maildir>/.X` (Maildir++). */
  maildir: string;
  /** The throwaway directory holding config, certificate, logs and mail. */
  dir: string;
  /** With `sasl`: the UNIX socket of Dovecot's SASL service (Postfix `smtpd_sasl_path`). */
  saslSocket?: string;
  /** `dovecot --version`, e.g. `2.3.19.1 (9b53102964)`. */
  version: string;
  /** Writes messages into a folder (created if missing) the way an MDA does: tmp/ then rename; `user`: one of `extraUsers` instead of the main user. */
  deliver(folder: string, messages: readonly Delivery[], user?: string): Promise<void>;
  /** Maildir flags of every message in a folder, keyed by the file's unique base name. */
  flags(folder: string): Map<string, string>;
  /** Removes a folder's directory (messages and index, hence its UIDVALIDITY) from disk. */
  removeFolder(folder: string): void;
  /** Stops the server process, keeping all data (simulates a server that went away). */
  halt(): Promise<void>;
  /** Starts the server again after halt(), on the same ports with the same data. */
  resume(): Promise<void>;
  /** Kills the server and its sessions at once, synchronously (a crash); resume() starts it again. */
  crash(): void;
  /** PIDs of the running IMAP session processes (one per logged-in connection). */
  sessions(): number[];
  /**
   * Logged-in connections of the test user as the server counts them against
   * mail_max_userip_connections (its anvil, read with `doveadm who`). The server must be up.
   */
  loggedIn(): number;
  /** halt() then resume(). */
  restart(): Promise<void>;
  /** Stops the server for good and deletes its directory. */
  stop(): Promise<void>;
}

export interface StartDovecotOptions {
  user?: string;
  password?: string;
  /** Keep the directory after stop() (debugging). */
  keep?: boolean;
  /** More mailbox users with the same password (several accounts on one server). */
  extraUsers?: readonly string[];
  /**
   * Also accept XOAUTH2 / OAUTHBEARER logins, validated by RFC 7662 introspection at this URL
   * (Dovecot's oauth2 passdb); `user:password@` in the URL is the introspecting client.
   * The token's `email` claim must equal the login user.
   */
  oauth2?: { introspectionUrl: string };
  /**
   * Also serve Dovecot's SASL authentication protocol on a UNIX socket (`saslSocket` of the
   * server), for an MTA that checks SMTP AUTH against Dovecot: Postfix's `smtpd_sasl_type = dovecot`.
   */
  sasl?: boolean;
}

/** Thrown with a clear message when Dovecot is missing or of an unsupported major version. */
export class DovecotUnavailableError extends Error {}

/** Starts a Dovecot on free loopback ports in a fresh temp directory; resolves once it accepts connections. */
export async function startDovecot(opts: StartDovecotOptions = {}): Promise<DovecotServer> {
  const version = dovecotVersion();
  // Fails before anything is created when the version is one the harness cannot configure.
  configSeries(version);
  const user = opts.user ?? 'census';
  const password = opts.password ?? 'census-test-password';
  const host = '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'smime-census-dovecot-'));
  // mkdtemp makes it 0700; the mail user must traverse every level down to its home.
  chmodSync(dir, 0o755);
  const owner = mailOwner();
  const home = join(dir, 'home', user);
  const maildir = join(home, 'Maildir');
  const users = [user, ...(opts.extraUsers ?? [])];
  const maildirOf = (u: string): string => join(dir, 'home', u, 'Maildir');
  for (const u of users) {
    for (const d of [join(dir, 'home'), join(dir, 'home', u), maildirOf(u)]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o755);
      chownSync(d, owner.uid, owner.gid);
    }
  }
  for (const sub of ['run', 'state']) mkdirSync(join(dir, sub), { recursive: true });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  makeCertificate(certFile, keyFile);
  writeFileSync(join(dir, 'passwd'), users.map((u) => `${u}:{PLAIN}${password}::::::\n`).join(''), { mode: 0o644 });

  const [port, plainPort] = (await freePorts(2)) as [number, number];
  const confFile = join(dir, 'dovecot.conf');
  const params: ConfParams = { dir, host, port, plainPort, certFile, keyFile, owner, homeRoot: join(dir, 'home'), oauth2: opts.oauth2, sasl: !!opts.sasl };
  for (const [name, text] of Object.entries(dovecotConfigFiles(version, params))) writeFileSync(join(dir, name), text, { mode: 0o644 });

  let child: ChildProcess | null = null;
  /** Settles once every process of the last instance is gone (resume() waits for it). */
  let gone: Promise<void> = Promise.resolve();
  const logFile = join(dir, 'dovecot.log');

  async function launch(): Promise<void> {
    await gone;
    // Its own process group (detached): a crash kills the master and every descendant with one
    // signal, including a login process the master is forking at that very moment (the kernel
    // fails a fork that races with a signal to the group). Killing the pids found in /proc one by
    // one missed those, and the orphan kept the listening socket.
    const p = spawn('dovecot', ['-F', '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child = p;
    // A test runner that dies must not leave a server behind on the machine.
    const onExit = () => killGroup(p, 'SIGKILL');
    process.once('exit', onExit);
    p.once('exit', () => process.off('exit', onExit));
    const exited = new Promise<never>((_, reject) =>
      p.once('exit', (code) => reject(new Error(`dovecot exited (${code}) during start: ${stderr.trim()} ${tail(logFile)}`))),
    );
    exited.catch(() => undefined);
    // An IMAP greeting, not only an accepted TCP connection: the kernel accepts into the backlog
    // as soon as the master has bound, and the greeting comes once login and auth are up.
    await Promise.race([waitForGreeting(host, plainPort, START_TIMEOUT_MS), exited]);
    await Promise.race([waitForListener(host, port, START_TIMEOUT_MS), exited]);
  }

  /** Sends a signal to the whole server (master and all its descendants); marks it gone once all have exited. */
  function killGroup(p: ChildProcess, sig: NodeJS.Signals): void {
    if (!p.pid) return;
    try {
      process.kill(-p.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** Resolves when the master has been reaped and no process of its group is left. */
  function groupGone(p: ChildProcess): Promise<void> {
    const exited = p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r()));
    return exited.then(async () => {
      const deadline = Date.now() + 30_000;
      while (p.pid && groupMembers(p.pid).length) {
        if (Date.now() > deadline) throw new Error(`dovecot processes of group ${p.pid} outlived SIGKILL: ${groupMembers(p.pid).join(' ')}`);
        killGroup(p, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  }

  async function halt(): Promise<void> {
    const p = child;
    child = null;
    if (!p) return gone;
    if (p.exitCode === null && p.signalCode === null) {
      // A clean shutdown first (the master logs out its sessions), then nothing may survive: a
      // server that "went away" must drop its connections at once.
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(p, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup(p, 'SIGKILL');
    gone = groupGone(p);
    await gone;
  }

  function folderDir(folder: string, u = user): string {
    if (!users.includes(u)) throw new Error(`no such test user: ${u}`);
    const root = maildirOf(u);
    return folder.toUpperCase() === 'INBOX' ? root : join(root, '.' + folder.replace(/\//g, '.'));
  }

  let seq = 0;
  await launch();
  return {
    host,
    port,
    plainPort,
    user,
    password,
    caFile: certFile,
    maildir,
    dir,
    ...(opts.sasl ? { saslSocket: join(dir, 'run', SASL_SOCKET) } : {}),
    version,
    async deliver(folder, messages, u) {
      const fdir = folderDir(folder, u);
      for (const sub of ['', 'tmp', 'new', 'cur']) {
        const d = join(fdir, sub);
        if (!existsSync(d)) {
          mkdirSync(d, { recursive: true });
          chownSync(d, owner.uid, owner.gid);
        }
      }
      const now = Math.floor(Date.now() / 1000);
      for (const m of messages) {
        const raw = typeof m === 'string' || m instanceof Uint8Array ? m : m.bytes;
        const flags = typeof m === 'string' || m instanceof Uint8Array ? '' : (m.flags ?? '');
        const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
        const base = `${now}.M${++seq}P${process.pid}.census,S=${bytes.length}`;
        const tmp = join(fdir, 'tmp', base);
        writeFileSync(tmp, bytes);
        chownSync(tmp, owner.uid, owner.gid);
        // Flagged mail goes straight to cur/ with its info suffix, as a client would have left it.
        if (flags) renameSync(tmp, join(fdir, 'cur', `${base}:2,${[...flags].sort().join('')}`));
        else renameSync(tmp, join(fdir, 'new', base));
      }
    },
    flags(folder) {
      const out = new Map<string, string>();
      const fdir = folderDir(folder);
      for (const sub of ['new', 'cur']) {
        const d = join(fdir, sub);
        if (!existsSync(d)) continue;
        for (const name of readdirSync(d)) {
          const i = name.indexOf(':2,');
          const base = (i < 0 ? name : name.slice(0, i)).replace(/,W=\d+/, '');
          out.set(base, i < 0 ? '' : name.slice(i + 3));
        }
      }
      return out;
    },
    removeFolder(folder) {
      if (folder.toUpperCase() === 'INBOX') throw new Error('removeFolder: INBOX cannot be removed');
      rmSync(folderDir(folder), { recursive: true, force: true });
    },
    halt,
    sessions() {
      const pid = child?.pid;
      if (!pid) return [];
      return childrenOf(pid).filter((c) => {
        try {
          return readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('dovecot/imap\0') || readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'imap';
        } catch {
          return false;
        }
      });
    },
    loggedIn() {
      const out = execFileSync('doveadm', ['who', '-1', '-a', join(dir, 'run', 'anvil')], { encoding: 'utf8' });
      // A header line, then one line per connection: username, service, pid, remote ip.
      return out.split('\n').filter((l) => l.split(/\s+/)[0] === user).length;
    },
    crash() {
      const p = child;
      child = null;
      if (!p?.pid) return;
      killGroup(p, 'SIGKILL');
      // resume() waits for this: a master not yet reaped still "runs" (its pid answers), and a
      // new one would refuse to start ("Dovecot is already running").
      gone = groupGone(p);
      gone.catch(() => undefined);
    },
    async resume() {
      if (child) return;
      await launch();
    },
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      await gone;
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the harness writes into a Dovecot's directory (see dovecotConfigFiles). */
export interface ConfParams {
  dir: string;
  host: string;
  port: number;
  plainPort: number;
  certFile: string;
  keyFile: string;
  owner: { uid: number; gid: number; name: string; group: string };
  homeRoot: string;
  oauth2?: { introspectionUrl: string };
  sasl: boolean;
}

/** The major.minor series of a `dovecot --version` string, if the harness can configure it. */
function configSeries(version: string): '2.3' | '2.4' {
  const m = /^(\d+)\.(\d+)/.exec(version);
  const series = m ? `${m[1]}.${m[2]}` : '';
  if (series !== '2.3' && series !== '2.4') throw new DovecotUnavailableError(`dovecot ${version} is not supported by the test harness (2.3 or 2.4 needed)`);
  return series;
}

/**
 * The configuration files (name -> text) for the Dovecot that `dovecot --version` reported:
 * 2.3 and 2.4 differ in most setting names and, for OAuth2, in shape — 2.3 validates tokens in
 * an oauth2 passdb whose settings sit in a file of their own, 2.4's mechanisms validate them
 * through the global `oauth2 { }` settings filter, with no passdb. Pure: unit-tested for both.
 */
export function dovecotConfigFiles(version: string, p: ConfParams): Record<string, string> {
  if (configSeries(version) === '2.4') return { 'dovecot.conf': config24(p) };
  return {
    'dovecot.conf': config23(p),
    ...(p.oauth2 ? { 'dovecot-oauth2.conf.ext': oauth2Settings(p.oauth2).map(([k, v]) => `${k} = ${v}\n`).join('') } : {}),
  };
}

/**
 * Token validation by RFC 7662 introspection (POST, the introspecting client's credentials in
 * the URL), the mailbox from the token's `email`, refused unless `active` is true — the same
 * settings in both series (2.4 names them oauth2_*, which the `oauth2 { }` filter supplies).
 */
function oauth2Settings(o: NonNullable<ConfParams['oauth2']>): Array<[string, string]> {
  return [
    ['introspection_mode', 'post'],
    ['introspection_url', o.introspectionUrl],
    ['username_attribute', 'email'],
    ['active_attribute', 'active'],
    ['active_value', 'true'],
  ];
}

/**
 * Tokens live 5 s in the tests: the anvil penalty (up to 15 s per IP after failed logins)
 * would let them expire inside the delayed login, and tests of refused logins would slow the rest.
 */
const NO_AUTH_PENALTY = `auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;

/** The SASL listener for an MTA, in base_dir: any local user may connect (a throwaway test server). */
const SASL_SOCKET = 'auth-client-mta';
function saslService(p: ConfParams): string {
  return p.sasl ? `service auth {
  unix_listener ${SASL_SOCKET} {
    mode = 0666
  }
}
` : '';
}

function serviceUsers(owner: ConfParams['owner']): { internal: string; login: string } {
  // As root, Dovecot drops to its own unprivileged users (created by the Debian package);
  // unprivileged, every process simply runs as the calling user.
  if (process.getuid?.() === 0) return { internal: 'dovecot', login: 'dovenull' };
  return { internal: owner.name, login: owner.name };
}

function config23(p: ConfParams): string {
  const su = serviceUsers(p.owner);
  return `# generated by test/helpers/dovecot.ts (Dovecot 2.3 syntax)
base_dir = ${p.dir}/run
state_dir = ${p.dir}/state
log_path = ${p.dir}/dovecot.log
info_log_path = ${p.dir}/dovecot.log
protocols = imap
listen = ${p.host}
default_internal_user = ${su.internal}
default_login_user = ${su.login}
first_valid_uid = ${p.owner.uid}
first_valid_gid = ${p.owner.gid}
ssl = yes
ssl_cert = <${p.certFile}
ssl_key = <${p.keyFile}
disable_plaintext_auth = no
auth_mechanisms = plain login${p.oauth2 ? ' xoauth2 oauthbearer' : ''}
auth_verbose = yes
mail_location = maildir:~/Maildir
mail_fsync = never
${p.oauth2 ? `${NO_AUTH_PENALTY}passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${p.dir}/dovecot-oauth2.conf.ext
}
` : ''}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${p.dir}/passwd
}
userdb {
  driver = static
  args = uid=${p.owner.uid} gid=${p.owner.gid} home=${p.homeRoot}/%u
}
service imap-login {
  inet_listener imap {
    address = ${p.host}
    port = ${p.plainPort}
  }
  inet_listener imaps {
    address = ${p.host}
    port = ${p.port}
    ssl = yes
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
${saslService(p)}`;
}

function config24(p: ConfParams): string {
  const su = serviceUsers(p.owner);
  // Dovecot 2.4 renamed most settings (mail_driver/mail_path, ssl_server_*, named passdb/userdb
  // blocks, %{user}), and its XOAUTH2/OAUTHBEARER mechanisms validate tokens through the
  // oauth2 settings filter instead of a passdb (2.4 oauth2 database and 2.3-to-2.4 upgrade
  // documentation). Only the generated text is tested here; the 2.3 path runs a real server.
  return `# generated by test/helpers/dovecot.ts (Dovecot 2.4 syntax)
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
base_dir = ${p.dir}/run
state_dir = ${p.dir}/state
log_path = ${p.dir}/dovecot.log
info_log_path = ${p.dir}/dovecot.log
protocols = imap
listen = ${p.host}
default_internal_user = ${su.internal}
default_login_user = ${su.login}
first_valid_uid = ${p.owner.uid}
first_valid_gid = ${p.owner.gid}
ssl = yes
ssl_server_cert_file = ${p.certFile}
ssl_server_key_file = ${p.keyFile}
auth_allow_cleartext = yes
auth_mechanisms = plain login${p.oauth2 ? ' xoauth2 oauthbearer' : ''}
auth_verbose = yes
mail_driver = maildir
mail_path = ~/Maildir
mail_fsync = never
${p.oauth2 ? `${NO_AUTH_PENALTY}oauth2 {
${oauth2Settings(p.oauth2).map(([k, v]) => `  ${k} = ${v}\n`).join('')}}
` : ''}passdb passwd-file {
  passwd_file_path = ${p.dir}/passwd
  default_password_scheme = PLAIN
}
userdb static {
  fields {
    uid = ${p.owner.uid}
    gid = ${p.owner.gid}
    home = ${p.homeRoot}/%{user}
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    listen = ${p.host}
    port = ${p.plainPort}
  }
  inet_listener imaps {
    listen = ${p.host}
    port = ${p.port}
    ssl = yes
  }
}
service anvil {
  chroot =
}
${saslService(p)}`;
}

function dovecotVersion(): string {
  try {
    return execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim();
  } catch (e) {
    throw new DovecotUnavailableError(
      `dovecot is not installed or not on PATH (${(e as Error).message}); run: bash scripts/test-deps.sh`,
    );
  }
}

/** The owner of test mail: never root, because Dovecot refuses to serve root-owned mail. */
function mailOwner(): { uid: number; gid: number; name: string; group: string } {
  const me = userInfo();
  if (me.uid !== 0) {
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    return { uid: me.uid, gid: me.gid, name: me.username, group };
  }
  // `mail` exists on every Debian system (base-passwd), so no user has to be created.
  const line = execFileSync('getent', ['passwd', 'mail'], { encoding: 'utf8' }).trim();
  const [name, , uid, gid] = line.split(':');
  const group = execFileSync('getent', ['group', String(gid)], { encoding: 'utf8' }).split(':')[0] ?? 'mail';
  return { uid: Number(uid), gid: Number(gid), name: name ?? 'mail', group };
}

function makeCertificate(certFile: string, keyFile: string): void {
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
      '-subj', '/CN=smime-census test IMAP', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Dovecot reads the key as root before dropping privileges; 0644 keeps the unprivileged case simple.
  chmodSync(keyFile, 0o644);
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<import('node:net').Server>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(s));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** How long a (re)start may take on a loaded machine before the harness gives up. */
const START_TIMEOUT_MS = 60_000;

/** Waits until the plain port answers with an IMAP greeting (`* OK`). */
async function waitForGreeting(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      let got = '';
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(5_000);
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n')) done(got.startsWith('* OK'));
      });
      s.once('error', () => done(false));
      s.once('end', () => done(false));
      s.once('timeout', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not greet on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a port accepts TCP connections (the implicit-TLS port, once the plain one greeted). */
async function waitForListener(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.setTimeout(1000);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live processes whose process group is `pgid` (Linux /proc; zombies count until reaped). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // fields after comm: state ppid pgrp ...
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) out.push(Number(name));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Direct children of a process (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm may contain spaces; the fields after its closing parenthesis are fixed
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}
