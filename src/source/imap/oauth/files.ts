/**
 * The files an OAuth2 account keeps: the refresh-token file (secret, 0600) and the token state
 * file (no secret: expiry, last refresh, last error — what `auth status`, /healthz and
 * /metrics show).
 *
 * Both are replaced atomically — write a new file, fsync it, rename it over the old one, fsync
 * the folder — so a crash at any instant leaves either the old or the new file, never a torn
 * or empty one: with refresh-token rotation the file may hold the only valid token.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../../core/index.js';

/** What the refresh-token file holds. */
export interface StoredRefreshToken {
  refresh_token: string;
  /** When this token was received (ISO 8601). */
  updated_at: string;
  client_id?: string;
  scope?: string;
}

/** The non-secret state of one account's tokens. */
export interface TokenState {
  account: string;
  provider: string;
  grant: string;
  /** Expiry of the current access token (ISO 8601), null before the first one. */
  expiresAt: string | null;
  lastRefreshAt: string | null;
  refreshes: number;
  /** Consecutive failed token requests (0 after a success). */
  refreshFailures: number;
  /** All failed token requests since this process started. */
  refreshFailuresTotal: number;
  lastError: { code: string; message: string; at: string } | null;
  /** Last update of this record. */
  updatedAt: string;
}

/** Writes `data` to `path` atomically with the given mode (see the file comment). */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  // The rename is durable only once the folder entry is on disk.
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Reads the refresh-token file; a missing or unusable file is an E_IMAP_AUTH that says to run `auth login`. */
export function readRefreshToken(path: string, account: string): StoredRefreshToken {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AppError(
      'E_IMAP_AUTH',
      `account ${account}: no refresh token (tokenFile ${path}: ${code}); run \`smime-census auth login ${account}\``,
      { cause: e },
    );
  }
  let parsed: Partial<StoredRefreshToken>;
  try {
    parsed = JSON.parse(text) as Partial<StoredRefreshToken>;
  } catch {
    throw new AppError('E_IMAP_AUTH', `account ${account}: tokenFile ${path} is not a token file written by \`auth login\`; run \`smime-census auth login ${account}\``);
  }
  if (typeof parsed.refresh_token !== 'string' || parsed.refresh_token === '') {
    throw new AppError('E_IMAP_AUTH', `account ${account}: tokenFile ${path} holds no refresh token; run \`smime-census auth login ${account}\``);
  }
  return { refresh_token: parsed.refresh_token, updated_at: parsed.updated_at ?? '', client_id: parsed.client_id, scope: parsed.scope };
}

/** Stores a (new) refresh token atomically, mode 0600. */
export function writeRefreshToken(path: string, token: StoredRefreshToken): void {
  writeFileAtomic(path, JSON.stringify(token) + '\n', 0o600);
}

/** Reads a token state file; null when there is none yet. */
export function readTokenState(path: string): TokenState | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TokenState;
  } catch {
    return null;
  }
}

/** The state file of an account in a state folder. */
export function tokenStatePath(stateDir: string, account: string): string {
  // Account names are [A-Za-z0-9._@+-] (config schema), safe as file names except a leading dot.
  return join(stateDir, `${account.replace(/^\./, '_')}.json`);
}
