/**
 * A real, throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` package
 * (the newest /usr/lib/postgresql/<major>/bin, or PG_BIN), `initdb` in a fresh temp directory,
 * listening on a free loopback port and a Unix socket in that directory only. One server per
 * test file (start-up costs about a second); each test takes a fresh database from it.
 *
 * PostgreSQL refuses to run as root: as root the server runs as Debian's `postgres` system user
 * (the directory is chowned to it); as an ordinary user everything runs as that user.
 * Durability is off (fsync, full_page_writes, synchronous_commit): a crashed test server is thrown
 * away, never recovered, and the tests measure our code rather than the disk.
 *
 * Clients log in over TCP with a password (scram-sha-256), as a deployment would; the socket
 * (trust) is for the harness's own createdb/psql calls.
 *
 * Only node: imports, so scripts/bench can use a built copy (esbuild) without the project build.
 */
import { spawn, execFileSync, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, writeFileSync, chownSync, chmodSync, rmSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  /** Superuser name and password (TCP logins use scram-sha-256). */
  user: string;
  password: string;
  /** Directory of the Unix socket (trust auth: for the harness, not for the code under test). */
  socketDir: string;
  /** The throwaway directory (data/, server.log). */
  dir: string;
  /** `postgres --version`, e.g. `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)`. */
  version: string;
  /** With `tls`: PEM of the server's self-signed certificate (subjectAltName 127.0.0.1, localhost), to pass as the client's CA. */
  caFile: string | null;
  /** Creates a fresh, empty database and returns its URL (with the password). */
  createDatabase(name?: string): Promise<string>;
  /** URL of database `db` without a password (for password-file and error tests). */
  urlWithoutPassword(db: string): string;
  /** Runs SQL through psql on the socket as the superuser; returns stdout (unaligned, tuples only, `|`-separated). */
  psql(db: string, sql: string): Promise<string>;
  /** Stops the server (fast shutdown: every connection is cut), keeping the data. */
  halt(): Promise<void>;
  /** Starts it again after halt(), on the same port with the same data. */
  resume(): Promise<void>;
  /** halt() then resume(): every client connection is cut. */
  restart(): Promise<void>;
  /** Stops the server for good and deletes its directory. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` settings (e.g. shared_buffers for a benchmark). */
  settings?: Record<string, string>;
  /** Keep the directory after stop() (debugging). */
  keep?: boolean;
  /** Also accept TLS (ssl=on) with a self-signed certificate made here; plain connections stay allowed. */
  tls?: boolean;
}

/** Thrown with a clear message when no PostgreSQL server binaries are installed. */
export class PostgresUnavailableError extends Error {}

/** The directory of initdb/pg_ctl/postgres: PG_BIN, else the newest Debian major under /usr/lib/postgresql. */
export function postgresBinDir(env: Record<string, string | undefined> = process.env): string {
  if (env.PG_BIN) return env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors[0]) throw new PostgresUnavailableError(`no PostgreSQL server under ${root} (install the postgresql package: scripts/test-deps.sh) and PG_BIN is not set`);
  return join(root, majors[0], 'bin');
}

interface Owner {
  uid: number;
  gid: number;
  name: string;
}

/** Who runs the server: never root (postgres refuses it); Debian's `postgres` user when we are root. */
function serverOwner(): Owner | null {
  if (userInfo().uid !== 0) return null;
  const line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim();
  const [name, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), name: name ?? 'postgres' };
}

function run(cmd: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`))));
    // A command that exits without reading its input (pg_ctl, once the server is up) closes the
    // pipe: EPIPE here is not the command's failure; its exit code, above, says whether it failed.
    p.stdin!.on('error', (e: NodeJS.ErrnoException) => e.code !== 'EPIPE' && reject(e));
    p.stdin!.end(options.input ?? '');
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let counter = 0;

/** Starts a PostgreSQL on a free loopback port in a fresh temp directory; resolves once it accepts connections. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  const owner = serverOwner();
  // As the server's user: its uid/gid, and an environment that does not point at root's home.
  const asOwner: SpawnOptions = owner
    ? { uid: owner.uid, gid: owner.gid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } }
    : { env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } };
  // Short path: a Unix socket path must fit in 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'census-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const user = 'census';
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  let caFile: string | null = null;
  const tlsSettings: Record<string, string> = {};
  if (opts.tls) {
    caFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
      '-subj', '/CN=smime-census test PostgreSQL', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', caFile,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    // The server refuses a key that others can read, and must own it.
    chmodSync(keyFile, 0o600);
    if (owner) for (const f of [keyFile, caFile]) chownSync(f, owner.uid, owner.gid);
    Object.assign(tlsSettings, { ssl: 'on', ssl_cert_file: caFile, ssl_key_file: keyFile });
  }
  let port = 0;
  let running = false;
  const pgctl = (args: string[]): Promise<string> => run(join(bin, 'pg_ctl'), args, asOwner);
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    max_connections: '60',
    shared_buffers: '32MB',
    // Several servers run at once on a 2-core machine: no parallel workers, no background noise.
    max_worker_processes: '4',
    max_parallel_workers_per_gather: '0',
    autovacuum: 'off',
    log_min_messages: 'warning',
    ...tlsSettings,
    ...opts.settings,
  };
  const startArgs = (): string[] => [
    'start', '-w', '-t', '120', '-D', data, '-l', log,
    '-o', [`-k ${dir}`, `-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' '),
  ];
  const onExit = (): void => {
    // The test process is going away without stop(): do not leave a server running.
    if (running) {
      try {
        execFileSync(join(bin, 'pg_ctl'), ['stop', '-m', 'immediate', '-D', data], { ...asOwner, stdio: 'ignore' } as Parameters<typeof execFileSync>[2]);
      } catch {
        /* already gone */
      }
    }
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '-N', '--no-instructions'], asOwner);
    // A port picked free may be taken by another test file before the server binds it: try again.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await pgctl(startArgs());
        running = true;
        break;
      } catch (e) {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        if (attempt >= 5 || !/could not (bind|create listen socket)|Address already in use/i.test(text)) throw new Error(`${(e as Error).message}\n${text}`);
      }
    }
  } catch (e) {
    process.removeListener('exit', onExit);
    onExit();
    throw e;
  }

  const psql = (db: string, sql: string): Promise<string> =>
    run(join(bin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', user, '-d', db], { env: { ...process.env, PGPASSWORD: '' }, input: sql });

  const server: PostgresServer = {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    user,
    password,
    socketDir: dir,
    dir,
    version,
    caFile,
    async createDatabase(name) {
      const db = name ?? `t_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
      await psql('postgres', `CREATE DATABASE "${db}" TEMPLATE template0;`);
      return `postgres://${user}:${password}@127.0.0.1:${port}/${db}`;
    },
    urlWithoutPassword(db) {
      return `postgres://${user}@127.0.0.1:${port}/${db}`;
    },
    psql,
    async halt() {
      if (!running) return;
      await pgctl(['stop', '-w', '-t', '120', '-m', 'fast', '-D', data]);
      running = false;
    },
    async resume() {
      if (running) return;
      await pgctl(startArgs());
      running = true;
    },
    async restart() {
      await server.halt();
      await server.resume();
    },
    async stop() {
      process.removeListener('exit', onExit);
      try {
        if (running) await pgctl(['stop', '-w', '-t', '120', '-m', 'immediate', '-D', data]);
      } finally {
        running = false;
        if (!opts.keep) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return server;
}

