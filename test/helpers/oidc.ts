/**
 * A real OAuth2 authorization server for the tests: oidc-provider (npm) on a loopback port,
 * with the clients and rules a support-mailbox census meets at Microsoft 365 or Google:
 *
 *  - client credentials with a secret and with private_key_jwt (a certificate's key);
 *  - a device-flow public client (RFC 8628) with refresh-token rotation;
 *  - the JWT bearer grant (RFC 7523 §2.1, Google's service-account flow), which oidc-provider
 *    does not implement: it is registered here with its extension API, registerGrantType;
 *  - "mailbox permissions": which mailbox an app-only client may open (Exchange's
 *    Add-MailboxPermission), put in the token as the `email` claim that Dovecot's OAuth2
 *    passdb compares with the login user after RFC 7662 introspection;
 *  - short access-token lifetimes, and revocation of a whole client.
 */
import { createPublicKey, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors as oidcErrors, type OidcClient } from 'oidc-provider';

/** The part of oidc-provider's Koa context these hooks use (the package ships no types for it here). */
interface ProviderCtx {
  path: string;
  method: string;
  status: number;
  body: unknown;
  get(header: string): string;
  oidc: { params?: Record<string, unknown>; client?: { clientId: string; metadata(): Record<string, unknown> } };
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface OidcServerOptions {
  /** Lifetime of access tokens (all grants), seconds. */
  accessTokenTtl?: number;
  /** Rotate refresh tokens on use (RFC 6749 §6, OAuth 2.1): the old one dies. */
  rotateRefreshTokens?: boolean;
}

export interface TestClient {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'private_key_jwt' | 'none';
  grant_types: string[];
  scope?: string;
  jwks?: { keys: object[] };
  /** `native` for an installed app (RFC 8252: a loopback redirect may use any port). */
  application_type?: 'web' | 'native';
  response_types?: string[];
  redirect_uris?: string[];
}

export interface OidcServer {
  issuer: string;
  tokenUrl: string;
  deviceAuthorizationUrl: string;
  /** The authorization endpoint (browser sign-in). */
  authorizationUrl: string;
  introspectionUrl: string;
  /** The client Dovecot authenticates as when introspecting. */
  introspection: { clientId: string; clientSecret: string };
  provider: Provider;
  /** Registers (or replaces) a client. */
  addClient(c: TestClient): Promise<void>;
  /** Deletes a client: its token requests fail with invalid_client, its tokens stop introspecting active. */
  revokeClient(clientId: string): Promise<void>;
  /** Lets an app-only client (or a service account) open a mailbox. */
  grantMailbox(clientId: string, mailbox: string): void;
  /** Successful token endpoint requests, by grant type. */
  tokenRequests: Map<string, number>;
  /** Every token, assertion and client secret that crossed the token endpoint (for "never logged" checks). */
  secretsSeen: Set<string>;
  /** Called when a token response is ready, before it is sent (tests crash the client here). */
  onTokenIssued: ((grantType: string) => void) | null;
  /** Revokes every access token issued so far (they introspect inactive), as an admin "sign out everywhere". */
  revokeAccessTokens(): Promise<void>;
  /** Completes the user side of a device authorization (what a person does in a browser). */
  approveDevice(verificationUriComplete: string, login: string): Promise<void>;
  /**
   * Opens an authorization URL as a person's browser would: signs in as `login`, consents, and
   * follows the redirect back to the client (a loopback listener); resolves with that page.
   */
  authorizeInBrowser(authorizationUrl: string, login: string): Promise<{ status: number; body: string; redirectedTo: string }>;
  close(): Promise<void>;
}

/** Starts the authorization server on 127.0.0.1 on a free port. */
export async function startOidcServer(o: OidcServerOptions = {}): Promise<OidcServer> {
  const ttl = o.accessTokenTtl ?? 5;
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const mailboxes = new Map<string, string>();
  const introspection = { clientId: 'dovecot', clientSecret: 'dovecot-introspection-secret' };
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const issuedAccessTokens = new Set<string>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: introspection.clientId,
        client_secret: introspection.clientSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...signing, use: 'sig', kid: 'test-signing' }] },
    cookies: { keys: ['smime-census-test-cookie-key'] },
    features: {
      clientCredentials: { enabled: true },
      // Only the resource server (Dovecot) may introspect.
      introspection: { enabled: true, allowedPolicy: async (_ctx: unknown, client: OidcClient) => client.clientId === introspection.clientId },
      revocation: { enabled: true },
      deviceFlow: { enabled: true },
      devInteractions: { enabled: true },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'ES256'] },
    scopes: ['openid', 'offline_access', 'imap'],
    claims: { openid: ['sub'], email: ['email'] },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      DeviceCode: 600,
      RefreshToken: 86_400,
      Grant: 86_400,
      Interaction: 600,
      Session: 600,
    },
    issueRefreshToken: async (_ctx: unknown, client: OidcClient) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => o.rotateRefreshTokens ?? true,
    async findAccount(_ctx: unknown, sub: string) {
      return { accountId: sub, claims: async () => ({ sub, email: sub }) };
    },
    // Dovecot's oauth2 passdb compares `email` from the introspection response with the login user.
    async extraTokenClaims(_ctx: unknown, token: unknown) {
      const t = token as unknown as { kind: string; clientId?: string; accountId?: string };
      if (t.kind === 'ClientCredentials') {
        const mailbox = t.clientId ? mailboxes.get(t.clientId) : undefined;
        return mailbox ? { email: mailbox } : undefined;
      }
      return t.accountId ? { email: t.accountId } : undefined;
    },
  });
  // Quiet: the provider reports every refused request on 'server_error' and friends.
  provider.on('server_error', (_ctx: unknown, err: unknown) => process.stderr.write(`oidc-provider server_error: ${String(err)}\n`));

  const tokenRequests = new Map<string, number>();
  const secretsSeen = new Set<string>();
  const state: { onTokenIssued: OidcServer['onTokenIssued'] } = { onTokenIssued: null };
  provider.use(async (ctx: ProviderCtx, next: () => Promise<void>) => {
    const isToken = ctx.path === '/token' && ctx.method === 'POST';
    const basic = /^Basic (.+)$/.exec(ctx.get('authorization') ?? '');
    if (isToken && basic) secretsSeen.add(decodeURIComponent(Buffer.from(basic[1]!, 'base64').toString().split(':')[1] ?? ''));
    await next();
    if (isToken) {
      const p = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
      for (const k of ['client_assertion', 'assertion', 'refresh_token', 'client_secret', 'device_code']) if (typeof p[k] === 'string') secretsSeen.add(p[k] as string);
    }
    if (isToken && ctx.status === 200) {
      const body = ctx.body as { access_token?: string; refresh_token?: string } | undefined;
      if (body?.access_token) {
        issuedAccessTokens.add(body.access_token);
        secretsSeen.add(body.access_token);
      }
      if (body?.refresh_token) secretsSeen.add(body.refresh_token);
      const gt = (ctx.oidc?.params?.grant_type as string | undefined) ?? 'unknown';
      tokenRequests.set(gt, (tokenRequests.get(gt) ?? 0) + 1);
      state.onTokenIssued?.(gt);
    }
  });

  registerJwtBearer(provider, issuer, mailboxes);

  server.on('request', provider.callback());

  const api: OidcServer = {
    issuer,
    tokenUrl: `${issuer}/token`,
    deviceAuthorizationUrl: `${issuer}/device/auth`,
    authorizationUrl: `${issuer}/auth`,
    introspectionUrl: `${issuer}/token/introspection`,
    introspection,
    provider,
    tokenRequests,
    secretsSeen,
    get onTokenIssued() {
      return state.onTokenIssued;
    },
    set onTokenIssued(f) {
      state.onTokenIssued = f;
    },
    async addClient(c) {
      await (provider.Client as unknown as { adapter: { upsert(id: string, p: object, e: number): Promise<void> } }).adapter.upsert(
        c.client_id,
        { response_types: [], redirect_uris: [], ...c },
        86_400,
      );
    },
    async revokeClient(clientId) {
      await (provider.Client as unknown as { adapter: { destroy(id: string): Promise<void> } }).adapter.destroy(clientId);
      mailboxes.delete(clientId);
    },
    grantMailbox(clientId, mailbox) {
      mailboxes.set(clientId, mailbox);
    },
    async revokeAccessTokens() {
      for (const value of issuedAccessTokens) {
        for (const model of [provider.AccessToken, provider.ClientCredentials] as Array<{ find(v: string): Promise<{ destroy(): Promise<void> } | undefined> }>) {
          const t = await model.find(value);
          await t?.destroy();
        }
      }
    },
    approveDevice: async (url, login) => {
      await browse(url, login, issuer);
    },
    async authorizeInBrowser(url, login) {
      const r = await browse(url, login, issuer);
      if (!r.redirectedTo) throw new Error(`authorization: the provider did not redirect back to the client (ended at ${url})`);
      return { status: r.status, body: r.body, redirectedTo: r.redirectedTo };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return api;
}

/**
 * RFC 7523 §2.1 JWT bearer grant as Google runs it for service accounts: the assertion is
 * signed with the service account's key (here: the client's registered JWKS), `iss` is the
 * service account, `aud` the token endpoint, `sub` the mailbox to act as — allowed only where
 * "domain-wide delegation" was granted (here: grantMailbox).
 */
function registerJwtBearer(provider: Provider, issuer: string, mailboxes: Map<string, string>): void {
  const { InvalidGrant, UnauthorizedClient, InvalidRequest } = oidcErrors as unknown as Record<string, new (d?: string) => Error>;
  provider.registerGrantType(
    JWT_BEARER,
    async (ctx: ProviderCtx) => {
      const client = ctx.oidc.client!;
      const { assertion, scope } = ctx.oidc.params as { assertion?: string; scope?: string };
      if (!assertion) throw new InvalidRequest!('missing assertion');
      const parts = assertion.split('.');
      if (parts.length !== 3) throw new InvalidGrant!('assertion is not a JWS');
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as { alg?: string };
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as { iss?: string; sub?: string; aud?: string; exp?: number; iat?: number };
      if (header.alg !== 'RS256') throw new InvalidGrant!('only RS256 assertions');
      const keys = (client.metadata() as { jwks?: { keys: object[] } }).jwks?.keys ?? [];
      const ok = keys.some((k) => {
        const pub: KeyObject = createPublicKey({ key: k as never, format: 'jwk' });
        return createVerify('sha256').update(`${parts[0]}.${parts[1]}`).verify(pub, Buffer.from(parts[2]!, 'base64url'));
      });
      if (!ok) throw new InvalidGrant!('Invalid JWT Signature.');
      const now = Math.floor(Date.now() / 1000);
      if (claims.iss !== client.clientId) throw new InvalidGrant!('iss is not the client');
      if (claims.aud !== `${issuer}/token`) throw new InvalidGrant!('Invalid JWT: aud');
      if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp - (claims.iat ?? now) > 3600) throw new InvalidGrant!('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
      if (!claims.sub || mailboxes.get(client.clientId) !== claims.sub) {
        throw new UnauthorizedClient!('Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
      }
      const at = new provider.AccessToken({ accountId: claims.sub, client, scope: scope ?? 'imap', gty: 'jwt_bearer' } as never) as unknown as { save(): Promise<string>; expiration: number; scope: string };
      const value = await at.save();
      ctx.body = { access_token: value, expires_in: at.expiration, token_type: 'Bearer', scope: at.scope };
    },
    ['assertion', 'scope'],
  );
}

/**
 * A minimal browser: follows redirects with cookies and submits each page's first form (login,
 * then consent). It stops at the device flow's success page, or when a redirect leaves the
 * provider: that page (the client's redirect URI) is fetched once and returned.
 */
async function browse(start: string, login: string, issuer: string): Promise<{ status: number; body: string; redirectedTo?: string }> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  };
  const origin = new URL(issuer).origin;
  let url = start;
  let method = 'GET';
  let body: URLSearchParams | undefined;
  for (let step = 0; step < 20; step++) {
    if (new URL(url).origin !== origin) {
      const res = await fetch(url);
      return { status: res.status, body: await res.text(), redirectedTo: url };
    }
    const res = await fetch(url, { method, body, headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, redirect: 'manual' });
    remember(res);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`browser: HTTP ${res.status} at ${url}: ${html.slice(0, 300)}`);
    if (/Sign-in Success/.test(html)) return { status: res.status, body: html };
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
    if (!form) throw new Error(`browser: no form at ${url}: ${html.slice(0, 300)}`);
    const fields = new URLSearchParams();
    for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields.set(m[1]!, m[2]!);
    if (/name="login"/.test(form[2]!)) {
      fields.set('login', login);
      fields.set('password', 'any');
    }
    url = new URL(form[1]!.replace(/&amp;/g, '&'), url).href;
    method = 'POST';
    body = fields;
  }
  throw new Error('browser: too many steps');
}
