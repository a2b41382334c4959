/**
 * From a `postgres://` URL and the store options to the driver's connection options, with the
 * security rules of the project rather than libpq's defaults:
 *
 * - TLS is verified whenever it is used. `sslmode=require` and `verify-full` both check the
 *   certificate chain and the host name (libpq's `require` checks neither, which protects from
 *   nothing but a passive eavesdropper); `verify-ca` checks the chain only. `allow` and `prefer`
 *   are refused: they fall back to plaintext without telling anyone. Without `sslmode` (or with
 *   `disable`) the connection is plain, for a database on the same host or a private network.
 * - The CA comes from `sslrootcert=<file>` in the URL or `tls.caFile`; `sslrootcert=system` (or
 *   neither) means the system's trusted CAs. `tls.rejectUnauthorized: false` is the only way to
 *   turn verification off, so it is never off by accident.
 * - The password comes from the options (CENSUS_DB_PASSWORD_FILE, see ../open.ts) before the URL;
 *   it is never part of `location` or of an error message.
 * - Unknown URL parameters are an error that names them: the driver would send them to the
 *   server as settings, and a typo such as `sslmod=` must not silently mean "no TLS".
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { AppError } from '../../core/index.js';
import type { StoreOptions } from '../contract.js';
import { redactDbUrl } from '../../core/db-url.js';

export interface PgConnection {
  host: string;
  port: number;
  /** Directory of the server's Unix socket (`?host=/dir`), instead of TCP. */
  socketDir?: string;
  database: string;
  user: string;
  password?: string;
  /** TLS options for the driver, or false for a plain connection. */
  ssl: false | ConnectionOptions;
  applicationName: string;
  /** Seconds to wait for a connection. */
  connectTimeoutS: number;
  /** The URL without its password, for logs and messages. */
  location: string;
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
const KNOWN_PARAMS = new Set(['sslmode', 'sslrootcert', 'application_name', 'connect_timeout', 'host']);

/** Default seconds to wait for the server to accept a connection (libpq waits forever). */
const CONNECT_TIMEOUT_S = 10;

function configError(location: string, message: string, cause?: unknown): AppError {
  return new AppError('E_CONFIG', `db: ${location}: ${message}`, cause === undefined ? undefined : { cause });
}

/** decodeURIComponent of one part of the URL; bad percent-encoding names the part, never its value. */
function decodePart(location: string, part: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (e) {
    throw configError(location, `the ${part} is not valid percent-encoding (write % as %25)`, e);
  }
}

/** Parses a postgres:// URL with the store options; throws E_CONFIG naming what is wrong. */
export function pgConnection(url: string, options: StoreOptions): PgConnection {
  const location = redactDbUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw configError(location, 'not a valid URL', e);
  }
  for (const k of u.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(k)) throw configError(location, `unknown parameter "${k}" (known: ${[...KNOWN_PARAMS].join(', ')})`);
  }
  const q = (k: string): string | undefined => u.searchParams.get(k) ?? undefined;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : 5432;
  const socketDir = q('host');
  if (!host && !socketDir) throw configError(location, 'no host (postgres://user@host:port/database)');
  if (socketDir !== undefined && !socketDir.startsWith('/')) throw configError(location, 'host= must be a socket directory (an absolute path)');
  const user = decodePart(location, 'user name', u.username);
  if (!user) throw configError(location, 'no user name (postgres://user@host/database)');
  const database = decodePart(location, 'database name', u.pathname.replace(/^\//, '')) || user;
  // A second URL pasted into the first's path: PostgreSQL would be asked for a database named
  // after it, and every message naming the database would echo that URL's password.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(database) || database.includes('@')) {
    throw configError(location, 'the database name looks like a second URL (one postgres://user@host/database, please)');
  }
  const password = options.password ?? (u.password ? decodePart(location, 'password', u.password) : undefined);

  let connectTimeoutS = CONNECT_TIMEOUT_S;
  const ct = q('connect_timeout');
  if (ct !== undefined) {
    connectTimeoutS = Number(ct);
    if (!/^\d+$/.test(ct) || connectTimeoutS < 1) throw configError(location, `connect_timeout=${ct}: a whole number of seconds, at least 1`);
  }

  const mode = q('sslmode') ?? 'disable';
  if (!(SSL_MODES as readonly string[]).includes(mode)) throw configError(location, `sslmode=${mode}: one of ${SSL_MODES.join(', ')}`);
  if (mode === 'allow' || mode === 'prefer') {
    throw configError(location, `sslmode=${mode} falls back to an unencrypted connection without notice: use sslmode=require (verified) or sslmode=disable`);
  }
  let ssl: false | ConnectionOptions = false;
  if (mode !== 'disable') {
    const rootcert = q('sslrootcert');
    const caFile = rootcert && rootcert !== 'system' ? rootcert : options.tls?.caFile;
    let ca: string | undefined;
    if (caFile) {
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch (e) {
        throw configError(location, `cannot read the CA file ${caFile}: ${(e as Error).message}`, e);
      }
    }
    ssl = {
      rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
      ...(ca !== undefined ? { ca } : {}),
      // verify-ca: the chain is checked, the name is not (libpq's meaning).
      ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    };
  }
  return {
    host: host || 'localhost',
    port,
    ...(socketDir !== undefined ? { socketDir } : {}),
    database,
    user,
    ...(password !== undefined ? { password } : {}),
    ssl,
    applicationName: q('application_name') ?? 'smime-census',
    connectTimeoutS,
    location,
  };
}
