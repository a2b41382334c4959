/**
 * Bearer-token access control with two scopes. Tokens are read from files (never argv or env
 * values), kept only as SHA-256 digests, and compared with timingSafeEqual on equal-length
 * digests so neither the content nor the length of a token leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError } from '../core/index.js';

/** `read`: lookups, export, stats, metrics. `admin`: erasure and access requests, plus all of read. */
export type Scope = 'read' | 'admin';
/** What a route requires; `open` routes (healthz, the dashboard's static files) need no token. */
export type RouteAccess = Scope | 'open';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Token scope the route needs (default `read`). */
    access?: RouteAccess;
  }
}

/** The shortest token accepted: a guessable token is no access control. */
export const MIN_TOKEN_LENGTH = 16;

export interface TokenSet {
  read: Buffer | null;
  admin: Buffer | null;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Reads one token file (first line, trimmed). `key` names the config key in errors. */
export function readTokenFile(file: string, key: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('E_SECRET', `${key}: cannot read token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const token = (text.split(/\r?\n/, 1)[0] ?? '').trim();
  if (token.length < MIN_TOKEN_LENGTH) throw new AppError('E_CONFIG', `${key}: the token in ${file} must be at least ${MIN_TOKEN_LENGTH} characters`);
  return digest(token);
}

/** Loads the configured tokens (files named by http.readTokenFile / http.adminTokenFile). */
export function loadTokens(files: { readTokenFile?: string | undefined; adminTokenFile?: string | undefined }): TokenSet {
  return {
    read: files.readTokenFile ? readTokenFile(files.readTokenFile, 'http.readTokenFile') : null,
    admin: files.adminTokenFile ? readTokenFile(files.adminTokenFile, 'http.adminTokenFile') : null,
  };
}

/** Token digests from literal tokens (tests and embedding; production reads files). */
export function tokensFrom(t: { read?: string; admin?: string }): TokenSet {
  return { read: t.read ? digest(t.read) : null, admin: t.admin ? digest(t.admin) : null };
}

export function hasTokens(t: TokenSet): boolean {
  return t.read !== null || t.admin !== null;
}

/** True for addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h) || /^::ffff:127(?:\.\d{1,3}){3}$/.test(h);
}

/** Refuses to serve on a reachable address without access control. */
export function assertSafeBinding(host: string, tokens: TokenSet): void {
  if (!isLoopback(host) && !hasTokens(tokens)) {
    throw new AppError(
      'E_CONFIG',
      `http.host: refusing to listen on ${host} without tokens; set http.readTokenFile / http.adminTokenFile (CENSUS_READ_TOKEN_FILE / CENSUS_ADMIN_TOKEN_FILE) or bind to 127.0.0.1`,
    );
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * The scope a request's Authorization header grants, or throws E_AUTH (no or unknown token).
 * Both digests are always compared so the time does not say which scope a token was close to.
 */
export function scopeOf(tokens: TokenSet, authorization: string | undefined): Scope {
  const m = authorization ? BEARER.exec(authorization) : null;
  if (!m) throw new AppError('E_AUTH', 'a bearer token is required (Authorization: Bearer <token>)');
  const d = digest(m[1]!);
  const isAdmin = tokens.admin !== null && timingSafeEqual(d, tokens.admin);
  const isRead = tokens.read !== null && timingSafeEqual(d, tokens.read);
  if (isAdmin) return 'admin';
  if (isRead) return 'read';
  throw new AppError('E_AUTH', 'unknown token');
}

/** Throws E_AUTH / E_FORBIDDEN unless the request may use a route that requires `need`. */
export function authorize(tokens: TokenSet, need: RouteAccess, authorization: string | undefined): void {
  if (need === 'open' || !hasTokens(tokens)) return;
  const scope = scopeOf(tokens, authorization);
  if (need === 'admin' && scope !== 'admin') throw new AppError('E_FORBIDDEN', 'this operation needs the admin token');
}
