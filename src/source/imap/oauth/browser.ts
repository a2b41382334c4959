/**
 * First consent in a browser: the authorization code grant for native apps (RFC 8252) with
 * PKCE (RFC 7636). We listen on a loopback port, the person opens the authorization URL in a
 * browser on the same machine (or through an SSH tunnel), signs in and consents, and the
 * provider redirects the browser to http://127.0.0.1:PORT/callback with a one-time code that
 * only our code verifier can redeem. This is the flow Google offers desktop clients for the
 * Gmail scope (its device flow does not allow that scope); Microsoft and generic servers
 * accept it too. openid-client builds the URL and checks state, issuer and PKCE.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { AppError } from '../../../core/index.js';
import type { OAuth2AuthConfig } from '../../../config/oauth.js';
import { endpointsOf } from './endpoints.js';
import { loginClient, loginError, loginTokenFile, storeLogin, type DeviceLoginResult } from './device.js';

export interface BrowserPrompt {
  /** Open this in a browser on the machine where the census runs. */
  authorizationUrl: string;
  /** Where the provider sends the browser back (our loopback listener). */
  redirectUri: string;
}

export interface BrowserLoginOptions {
  /** Loopback port to listen on (0 = any free port; providers accept any port for loopback redirects). */
  port?: number;
  /** Give up after this long without a redirect (default 10 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const CALLBACK_PATH = '/callback';

/**
 * Runs the loopback-redirect authorization code flow for a refresh_token account; resolves
 * once the refresh token is stored in auth.tokenFile (0600, atomically).
 */
export async function browserLogin(account: string, auth: OAuth2AuthConfig, prompt: (p: BrowserPrompt) => void, o: BrowserLoginOptions = {}): Promise<DeviceLoginResult> {
  const tokenFile = loginTokenFile(account, auth);
  const ep = endpointsOf(auth);
  if (!ep.authorizationUrl) {
    throw new AppError('E_CONFIG', `account ${account}: auth.authorizationUrl is required for \`auth login --browser\` with provider generic`);
  }
  const { config, scope } = loginClient(account, auth, ep);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();

  const callback = listenForCallback(o.port ?? 0, o.timeoutMs ?? 600_000, o.signal);
  const port = await callback.port;
  const redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  // Google issues a refresh token only with access_type=offline, and again only on prompt=consent.
  if (auth.provider === 'google') Object.assign(params, { access_type: 'offline', prompt: 'consent' });
  prompt({ authorizationUrl: oidc.buildAuthorizationUrl(config, params).href, redirectUri });

  try {
    const reached = await callback.url;
    let tokens: oidc.TokenEndpointResponse;
    try {
      tokens = await oidc.authorizationCodeGrant(config, reached.url, { pkceCodeVerifier: verifier, expectedState: state });
    } catch (e) {
      reached.done(false);
      throw redirectError(account, e);
    }
    let stored: DeviceLoginResult;
    try {
      stored = storeLogin(account, auth, tokenFile, tokens, scope);
    } catch (e) {
      reached.done(false);
      throw e;
    }
    reached.done(true);
    return stored;
  } finally {
    callback.close();
  }
}

/** A refused redirect (wrong state or issuer, a provider error) is an auth failure; a network failure is not. */
function redirectError(account: string, e: unknown): AppError {
  if (e instanceof oidc.AuthorizationResponseError) {
    return new AppError('E_IMAP_AUTH', `account ${account}: sign-in refused: ${e.error}${e.error_description ? `: ${e.error_description.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`, { cause: e });
  }
  if (e instanceof oidc.ClientError) {
    // openid-client wraps the precise reason (e.g. an unexpected "state") as the cause
    const why = e.cause instanceof Error ? e.cause.message : e.message;
    return new AppError('E_IMAP_AUTH', `account ${account}: the sign-in redirect was refused (${why})`, { cause: e });
  }
  return loginError(account, 'sign-in', e);
}

interface Callback {
  port: Promise<number>;
  /** The redirect's URL; done(ok) answers the browser once the code was redeemed (or not). */
  url: Promise<{ url: URL; done(ok: boolean): void }>;
  close(): void;
}

/**
 * A one-request HTTP listener on 127.0.0.1: it answers the first GET of the callback path
 * (after the code exchange, so the page can say whether it worked) and refuses everything else.
 */
function listenForCallback(port: number, timeoutMs: number, signal?: AbortSignal): Callback {
  let resolveUrl!: (v: { url: URL; done(ok: boolean): void }) => void;
  let rejectUrl!: (e: Error) => void;
  const url = new Promise<{ url: URL; done(ok: boolean): void }>((res, rej) => {
    resolveUrl = res;
    rejectUrl = rej;
  });
  url.catch(() => undefined);
  let answered = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (req.method !== 'GET' || u.pathname !== CALLBACK_PATH || answered) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    answered = true;
    const page = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end(text);
    };
    // The provider reports a refusal (access_denied, invalid_scope) as error parameters.
    const error = u.searchParams.get('error');
    if (error) {
      page(400, 'Sign-in was not completed. You can close this tab and look at the terminal.\n');
      const description = u.searchParams.get('error_description');
      rejectUrl(new AppError('E_IMAP_AUTH', `sign-in refused by the provider: ${error}${description ? `: ${description.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`));
      return;
    }
    resolveUrl({
      url: u,
      done: (ok) => (ok ? page(200, 'Signed in: smime-census stored its token. You can close this tab.\n') : page(400, 'Sign-in failed. You can close this tab and look at the terminal.\n')),
    });
  });
  // The listener serves one person's browser: small limits, no keep-alive.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 0;
  server.maxConnections = 8;
  const timer = setTimeout(() => rejectUrl(new AppError('E_IMAP_AUTH', `no sign-in within ${Math.round(timeoutMs / 1000)} s (run auth login again)`)), timeoutMs);
  timer.unref();
  const onAbort = () => rejectUrl(new AppError('E_USAGE', 'sign-in cancelled'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const portP = new Promise<number>((res, rej) => {
    server.once('error', (e) => {
      const err = new AppError('E_USAGE', `cannot listen on 127.0.0.1:${port} for the sign-in redirect: ${e.message}`, { cause: e });
      rej(err);
      rejectUrl(err);
    });
    server.listen(port, '127.0.0.1', () => res((server.address() as AddressInfo).port));
  });
  return {
    port: portP,
    url,
    close() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      server.close();
      server.closeAllConnections();
    },
  };
}
