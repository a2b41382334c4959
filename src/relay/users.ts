/**
 * SMTP AUTH users of the relay: a file of `user:scrypt$N$r$p$salt$hash` lines (salt and hash
 * base64), made by `smime-census relay passwd`. Passwords are never stored; a stolen file costs
 * an attacker one scrypt (N = 2^15, 32 MiB) per guess and per user.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError } from '../core/index.js';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** scrypt cost for new hashes (RFC 7914 parameters; OWASP's minimum for interactive logins is N=2^17/r=8/p=1 or an equivalent 2^15 with more memory — we keep 2^15, r=8 so a login stays near 50 ms on a small VM). */
export const SCRYPT_N = 2 ** 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** The largest N we accept from a file: a crafted entry must not make one login eat gigabytes. */
const MAX_N = 2 ** 20;

interface UserEntry {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** A `scrypt$N$r$p$salt$hash` string for a new password. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new AppError('E_INPUT', 'the password is empty');
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, KEY_BYTES, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 256 * SCRYPT_N * SCRYPT_R });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function parseEntry(spec: string, where: string): UserEntry {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(spec);
  if (!m) throw new AppError('E_CONFIG', `${where}: expected user:scrypt$N$r$p$salt$hash`);
  const n = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (n < 2 || n > MAX_N || (n & (n - 1)) !== 0) throw new AppError('E_CONFIG', `${where}: N must be a power of two up to ${MAX_N}`);
  if (r < 1 || r > 32 || p < 1 || p > 16) throw new AppError('E_CONFIG', `${where}: r must be 1-32 and p 1-16`);
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) throw new AppError('E_CONFIG', `${where}: salt or hash too short`);
  return { n, r, p, salt, hash };
}

/** Verifies logins against a users file read once at start (restart to pick up changes). */
export interface UserDb {
  readonly size: number;
  verify(user: string, password: string): Promise<boolean>;
}

/** Reads and validates a users file; throws E_SECRET (unreadable) or E_CONFIG naming the line. */
export function loadUsers(file: string): UserDb {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('E_SECRET', `cannot read relay.usersFile ${file}`, { cause: e });
  }
  const users = new Map<string, UserEntry>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const where = `relay.usersFile ${file} line ${i + 1}`;
    const colon = t.lastIndexOf(':');
    if (colon <= 0) throw new AppError('E_CONFIG', `${where}: expected user:scrypt$N$r$p$salt$hash`);
    const user = t.slice(0, colon);
    if (users.has(user)) throw new AppError('E_CONFIG', `${where}: user listed twice`);
    users.set(user, parseEntry(t.slice(colon + 1), where));
  });
  // a dummy entry, so an unknown user costs the same scrypt as a known one (no user probing by timing)
  const dummy: UserEntry = { n: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt: randomBytes(SALT_BYTES), hash: randomBytes(KEY_BYTES) };
  return {
    size: users.size,
    async verify(user, password) {
      const e = users.get(user);
      const entry = e ?? dummy;
      const got = await scrypt(password, entry.salt, entry.hash.length, { N: entry.n, r: entry.r, p: entry.p, maxmem: 256 * entry.n * entry.r });
      return timingSafeEqual(got, entry.hash) && e !== undefined;
    },
  };
}
