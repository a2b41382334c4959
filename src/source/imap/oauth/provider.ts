/**
 * The access-token provider of one OAuth2 IMAP account: a cache that is refreshed ahead of
 * expiry, shared by the account's connections (one request in flight at a time), renewed once
 * more when the IMAP server rejects a token, with its state (never a token) written to a state
 * file for `auth status`, /healthz and /metrics.
 *
 * Grants (all requests made by openid-client):
 *  - client_credentials with a client secret or a signed client assertion (RFC 7523
 *    private_key_jwt; for Microsoft with the certificate's thumbprint in x5t / x5t#S256);
 *  - refresh_token from the token file, the rotated token persisted atomically before use;
 *  - jwt_bearer (RFC 7523 §2.1): an assertion with sub = the mailbox, signed by a Google
 *    service account key (domain-wide delegation) or a configured key (generic).
 */
import { createHash, createPrivateKey, createSign, randomUUID, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../../../core/index.js';
import type { OAuth2AuthConfig, SaslOAuthMechanism } from '../../../config/oauth.js';
import { clientConfiguration, endpointsOf, scopeOf } from './endpoints.js';
import { readRefreshToken, writeFileAtomic, writeRefreshToken, type TokenState } from './files.js';

/** What an IMAP login needs. */
export interface OAuthCredentials {
  user: string;
  accessToken: string;
  mechanism: SaslOAuthMechanism;
}

export interface TokenProviderOptions {
  /** The account's stable name (logs, errors, state). */
  account: string;
  /** The mailbox: the SASL user, and the `sub` of a jwt_bearer assertion. */
  user: string;
  auth: OAuth2AuthConfig;
  logger: Logger;
  /** Where the token state is written (none: kept in memory only). */
  stateFile?: string;
  /** Clock, for tests of expiry. */
  now?: () => number;
}

/** RFC 6749 §5.2 and RFC 8628 errors after which the same request cannot succeed. */
const REJECTED = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'invalid_scope', 'access_denied', 'unsupported_grant_type', 'invalid_request', 'expired_token']);

/** Seconds assumed when a token response has no expires_in (RFC 6749 makes it optional). */
const DEFAULT_LIFETIME_S = 3600;
/** Lifetime of our signed assertions: RFC 7523 wants them short; Google allows at most one hour. */
const ASSERTION_LIFETIME_S = 300;

interface Cached {
  token: string;
  expiresAt: number;
  obtainedAt: number;
}

/** Access tokens for one account (see the file comment). */
export class OAuthTokenProvider {
  private readonly o: TokenProviderOptions;
  private readonly now: () => number;
  private cached: Cached | null = null;
  private inflight: Promise<Cached> | null = null;
  private config: oidc.Configuration | null = null;
  private state: TokenState;

  constructor(o: TokenProviderOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.state = {
      account: o.account,
      provider: o.auth.provider,
      grant: o.auth.grant,
      expiresAt: null,
      lastRefreshAt: null,
      refreshes: 0,
      refreshFailures: 0,
      refreshFailuresTotal: 0,
      lastError: null,
      updatedAt: new Date(this.now()).toISOString(),
    };
  }

  /** Credentials for the next login: the cached token, or a fresh one when it is (nearly) expired. */
  async credentials(): Promise<OAuthCredentials> {
    const c = this.cached;
    const token = c && !this.dueForRefresh(c) ? c : await this.refresh();
    return { user: this.o.user, accessToken: token.token, mechanism: this.o.auth.mechanism };
  }

  /**
   * The server rejected `accessToken`: drop it (unless another connection already replaced it)
   * so the next credentials() asks for a new one. The caller retries the login once.
   */
  rejected(accessToken: string): void {
    if (this.cached?.token === accessToken) this.cached = null;
  }

  /** The state as shown by `auth status`, /healthz and /metrics. */
  status(): TokenState {
    return { ...this.state, lastError: this.state.lastError ? { ...this.state.lastError } : null };
  }

  /** Seconds until the cached token expires (null without one). */
  secondsToExpiry(): number | null {
    return this.cached ? Math.round((this.cached.expiresAt - this.now()) / 1000) : null;
  }

  private dueForRefresh(c: Cached): boolean {
    const lifetime = c.expiresAt - c.obtainedAt;
    const ahead = Math.min(this.o.auth.refreshAheadSeconds * 1000, lifetime / 2);
    return this.now() >= c.expiresAt - ahead;
  }

  private refresh(): Promise<Cached> {
    // One request per account at a time: every connection waits for the same answer.
    this.inflight ??= this.request().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async request(): Promise<Cached> {
    const started = this.now();
    try {
      const res = await this.grant();
      const lifetime = typeof res.expires_in === 'number' && res.expires_in > 0 ? res.expires_in : DEFAULT_LIFETIME_S;
      const c: Cached = { token: res.access_token, obtainedAt: started, expiresAt: started + lifetime * 1000 };
      this.cached = c;
      this.state.expiresAt = new Date(c.expiresAt).toISOString();
      this.state.lastRefreshAt = new Date(this.now()).toISOString();
      this.state.refreshes++;
      this.state.refreshFailures = 0;
      this.state.lastError = null;
      this.saveState();
      this.o.logger.info({ component: 'oauth', account: this.o.account, grant: this.o.auth.grant, expiresInS: lifetime }, 'access token obtained');
      return c;
    } catch (e) {
      const err = this.toError(e);
      this.state.refreshFailures++;
      this.state.refreshFailuresTotal++;
      this.state.lastError = { code: err.code, message: err.message, at: new Date(this.now()).toISOString() };
      this.saveState();
      this.o.logger.warn({ component: 'oauth', account: this.o.account, code: err.code, err: err.message }, 'token request failed');
      throw err;
    }
  }

  private async grant(): Promise<oidc.TokenEndpointResponse> {
    const a = this.o.auth;
    const scope = scopeOf(a);
    switch (a.grant) {
      case 'client_credentials':
        return oidc.clientCredentialsGrant(await this.configuration(), { scope });
      case 'refresh_token': {
        const file = a.tokenFile!;
        const stored = readRefreshToken(file, this.o.account);
        const res = await oidc.refreshTokenGrant(await this.configuration(), stored.refresh_token, a.provider === 'microsoft' ? { scope } : undefined);
        // With rotation the old token may be dead now: persist the new one before anything uses
        // the access token, so a crash after this point never leaves only a spent token on disk.
        if (res.refresh_token && res.refresh_token !== stored.refresh_token) {
          writeRefreshToken(file, { refresh_token: res.refresh_token, updated_at: new Date(this.now()).toISOString(), client_id: a.clientId, scope: res.scope ?? stored.scope });
        }
        return res;
      }
      case 'jwt_bearer': {
        const { assertion, config } = this.jwtBearer(scope);
        return oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:jwt-bearer', { assertion, scope });
      }
    }
  }

  /** The client configuration (endpoints + client authentication), built once; key files are read here. */
  private async configuration(): Promise<oidc.Configuration> {
    if (this.config) return this.config;
    const a = this.o.auth;
    const ep = endpointsOf(a);
    let clientAuth: oidc.ClientAuth;
    if (a.clientSecretFile) {
      clientAuth = oidc.ClientSecretBasic(readSecretFile(a.clientSecretFile, 'clientSecretFile', this.o.account));
    } else if (a.privateKeyFile) {
      const key = readPrivateKey(a.privateKeyFile, this.o.account);
      const x5t = a.certificateFile ? thumbprints(a.certificateFile, this.o.account) : null;
      const kid = a.keyId;
      const tokenUrl = ep.tokenUrl;
      clientAuth = oidc.PrivateKeyJwt(
        { key: await toCryptoKey(key), ...(kid ? { kid } : {}) },
        {
          [oidc.modifyAssertion]: (header, payload) => {
            if (x5t) Object.assign(header, x5t);
            // Microsoft wants the token endpoint as audience (its docs); RFC 7523 allows it.
            payload.aud = tokenUrl;
          },
        },
      );
    } else {
      // Public client (device flow / refresh token without a secret).
      clientAuth = oidc.None();
    }
    this.config = clientConfiguration(this.o.account, ep, a.clientId!, clientAuth, a.requestTimeoutMs);
    return this.config;
  }

  /** A signed RFC 7523 authorization grant assertion, and the configuration to send it with. */
  private jwtBearer(scope: string): { assertion: string; config: oidc.Configuration } {
    const a = this.o.auth;
    let issuer: string;
    let key: KeyObject;
    let kid = a.keyId;
    let tokenUrl: string;
    if (a.provider === 'google') {
      const sa = readServiceAccount(a.serviceAccountKeyFile!, this.o.account);
      issuer = sa.client_email;
      key = sa.key;
      kid ??= sa.private_key_id;
      tokenUrl = sa.token_uri;
      // The service account authenticates by the assertion alone; client_id names it.
      this.config ??= clientConfiguration(this.o.account, endpointsOf(a, tokenUrl), sa.client_email, oidc.None(), a.requestTimeoutMs);
    } else {
      issuer = a.assertionIssuer ?? a.clientId!;
      key = readPrivateKey(a.privateKeyFile!, this.o.account);
      tokenUrl = endpointsOf(a).tokenUrl;
      this.config ??= clientConfiguration(this.o.account, endpointsOf(a), a.clientId!, a.clientSecretFile ? oidc.ClientSecretBasic(readSecretFile(a.clientSecretFile, 'clientSecretFile', this.o.account)) : oidc.None(), a.requestTimeoutMs);
    }
    const now = Math.floor(this.now() / 1000);
    const claims = { iss: issuer, sub: a.subject ?? this.o.user, aud: tokenUrl, scope, iat: now, exp: now + ASSERTION_LIFETIME_S, jti: randomUUID() };
    return { assertion: signJwt(claims, key, kid), config: this.config };
  }

  private saveState(): void {
    this.state.updatedAt = new Date(this.now()).toISOString();
    if (!this.o.stateFile) return;
    try {
      writeFileAtomic(this.o.stateFile, JSON.stringify(this.state, null, 2) + '\n', 0o600);
    } catch (e) {
      // The state is for display; failing to write it must not fail the login.
      this.o.logger.warn({ component: 'oauth', account: this.o.account, err: (e as Error).message }, 'cannot write the token state file');
    }
  }

  /** Maps openid-client / network errors to AppErrors: a refusal is E_IMAP_AUTH, the rest transient. */
  private toError(e: unknown): AppError {
    if (isAppError(e)) return e;
    const a = this.o.auth;
    const who = `account ${this.o.account}: token request (${a.grant}) to ${safeOrigin(a, this.o.account)}`;
    const relogin = a.grant === 'refresh_token' ? `; run \`smime-census auth login ${this.o.account}\`` : '';
    if (e instanceof oidc.ResponseBodyError) {
      const text = `${e.error}${e.error_description ? `: ${oneLine(e.error_description)}` : ''}`;
      if (REJECTED.has(e.error) || (e.status >= 400 && e.status < 500 && e.status !== 429)) {
        return new AppError('E_IMAP_AUTH', `${who} refused: ${text}${relogin}`, { cause: e });
      }
      return new AppError('E_IMAP_CONNECT', `${who} failed: ${text} (HTTP ${e.status})`, { cause: e });
    }
    if (e instanceof oidc.WWWAuthenticateChallengeError) {
      const ch = e.cause[0];
      const text = ch ? `${ch.parameters.error ?? ch.scheme}${ch.parameters.error_description ? `: ${oneLine(ch.parameters.error_description)}` : ''}` : `HTTP ${e.status}`;
      return new AppError('E_IMAP_AUTH', `${who} refused: ${text}${relogin}`, { cause: e });
    }
    const err = e as Error & { code?: string; cause?: { code?: string } };
    const code = err.cause?.code ?? err.code;
    return new AppError('E_IMAP_CONNECT', `${who} failed: ${oneLine(err.message ?? String(e))}${code ? ` (${code})` : ''}`, { cause: e });
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 500);
}

function safeOrigin(a: OAuth2AuthConfig, account: string): string {
  try {
    return new URL(endpointsOf(a).tokenUrl).origin;
  } catch {
    return account;
  }
}

function readSecretFile(path: string, key: string, account: string): string {
  let v: string;
  try {
    v = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new AppError('E_SECRET', `account ${account}: auth.${key} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  if (!v) throw new AppError('E_SECRET', `account ${account}: auth.${key} ${path} is empty`);
  return v;
}

function readPrivateKey(path: string, account: string): KeyObject {
  const pem = readSecretFile(path, 'privateKeyFile', account);
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new AppError('E_SECRET', `account ${account}: auth.privateKeyFile ${path} is not a PEM private key`, { cause: e });
  }
}

/** x5t (SHA-1, what Microsoft documents) and x5t#S256 of the certificate, base64url. */
function thumbprints(path: string, account: string): { x5t: string; 'x5t#S256': string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(path));
  } catch (e) {
    throw new AppError('E_SECRET', `account ${account}: auth.certificateFile ${path} is not a PEM certificate`, { cause: e });
  }
  return { x5t: createHash('sha1').update(cert.raw).digest('base64url'), 'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url') };
}

interface ServiceAccount {
  client_email: string;
  client_id?: string;
  private_key_id?: string;
  token_uri: string;
  key: KeyObject;
}

function readServiceAccount(path: string, account: string): ServiceAccount {
  const text = readSecretFile(path, 'serviceAccountKeyFile', account);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AppError('E_SECRET', `account ${account}: auth.serviceAccountKeyFile ${path} is not JSON (download the key of the service account as JSON)`);
  }
  if (j.type !== 'service_account' || typeof j.client_email !== 'string' || typeof j.private_key !== 'string') {
    throw new AppError('E_SECRET', `account ${account}: auth.serviceAccountKeyFile ${path} is not a service account key (type, client_email, private_key)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(j.private_key);
  } catch (e) {
    throw new AppError('E_SECRET', `account ${account}: auth.serviceAccountKeyFile ${path}: private_key is not a PEM key`, { cause: e });
  }
  return {
    client_email: j.client_email,
    client_id: typeof j.client_id === 'string' ? j.client_id : undefined,
    private_key_id: typeof j.private_key_id === 'string' ? j.private_key_id : undefined,
    token_uri: typeof j.token_uri === 'string' ? j.token_uri : 'https://oauth2.googleapis.com/token',
    key,
  };
}

/** JWS algorithm for a key: RS256 for RSA (what Google and Microsoft accept), ES256/384 for EC. */
function algorithmOf(key: KeyObject): { alg: string; dsaEncoding?: 'ieee-p1363'; hash: string } {
  if (key.asymmetricKeyType === 'rsa') return { alg: 'RS256', hash: 'sha256' };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { alg: 'ES256', hash: 'sha256', dsaEncoding: 'ieee-p1363' };
    if (curve === 'secp384r1') return { alg: 'ES384', hash: 'sha384', dsaEncoding: 'ieee-p1363' };
  }
  throw new AppError('E_SECRET', `unsupported signing key type ${key.asymmetricKeyType} (RSA, or EC P-256/P-384)`);
}

/** A compact JWS of the claims (the jwt_bearer assertion; client assertions are signed by openid-client). */
function signJwt(claims: Record<string, unknown>, key: KeyObject, kid?: string): string {
  const a = algorithmOf(key);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: a.alg, typ: 'JWT', ...(kid ? { kid } : {}) })}.${enc(claims)}`;
  const sig = createSign(a.hash).update(input).sign(a.dsaEncoding ? { key, dsaEncoding: a.dsaEncoding } : key);
  return `${input}.${sig.toString('base64url')}`;
}

/** The key as a non-extractable WebCrypto key, as openid-client's PrivateKeyJwt wants it. */
async function toCryptoKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const a = algorithmOf(key);
  const algorithm = a.alg === 'RS256' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: a.alg === 'ES256' ? 'P-256' : 'P-384' };
  return webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']);
}
