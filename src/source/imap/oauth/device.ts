/**
 * First consent from a terminal: the device authorization grant (RFC 8628). The person opens
 * a URL on any device, enters a code, signs in and consents; meanwhile we poll the token
 * endpoint (openid-client honours `interval` and `slow_down`) and store the refresh token.
 */
import * as oidc from 'openid-client';
import { AppError } from '../../../core/index.js';
import type { OAuth2AuthConfig } from '../../../config/oauth.js';
import { clientConfiguration, endpointsOf, scopeOf, type ProviderEndpoints } from './endpoints.js';
import { writeRefreshToken } from './files.js';
import { readFileSync } from 'node:fs';

export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresInS: number;
}

export interface DeviceLoginResult {
  tokenFile: string;
  scope: string | undefined;
  accessTokenExpiresInS: number | undefined;
}

/**
 * Runs the device flow for a refresh_token account: `prompt` is called with what to show the
 * person; resolves once the refresh token is stored in auth.tokenFile (0600, atomically).
 */
export async function deviceLogin(account: string, auth: OAuth2AuthConfig, prompt: (p: DevicePrompt) => void, signal?: AbortSignal): Promise<DeviceLoginResult> {
  const tokenFile = loginTokenFile(account, auth);
  if (auth.provider === 'google') {
    // Google's device flow grants only a short list of scopes, and https://mail.google.com/ is
    // not on it (developers.google.com/identity/protocols/oauth2/limited-input-device#allowedscopes).
    throw new AppError(
      'E_USAGE',
      `account ${account}: Google does not allow the Gmail scope in the device flow: sign in with \`auth login ${account} --browser\` (a desktop-app OAuth client), or for Google Workspace use a service account (grant jwt_bearer)`,
    );
  }
  const ep = endpointsOf(auth);
  if (!ep.deviceAuthorizationUrl) {
    throw new AppError('E_CONFIG', `account ${account}: auth.deviceAuthorizationUrl is required for \`auth login\` with provider generic`);
  }
  const { config, scope } = loginClient(account, auth, ep);
  let da: oidc.DeviceAuthorizationResponse;
  try {
    da = await oidc.initiateDeviceAuthorization(config, { scope });
  } catch (e) {
    throw loginError(account, 'device authorization request', e);
  }
  prompt({ verificationUri: da.verification_uri, verificationUriComplete: da.verification_uri_complete, userCode: da.user_code, expiresInS: da.expires_in });
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.pollDeviceAuthorizationGrant(config, da, undefined, signal ? { signal } : undefined);
  } catch (e) {
    throw loginError(account, 'sign-in', e);
  }
  return storeLogin(account, auth, tokenFile, tokens, scope);
}

/* ---- shared by the device flow and the browser flow (browser.ts) ---- */

/** The token file of a refresh-token account: only those need a first sign-in. */
export function loginTokenFile(account: string, auth: OAuth2AuthConfig): string {
  if (auth.grant !== 'refresh_token' || !auth.tokenFile) {
    throw new AppError('E_USAGE', `account ${account}: auth login is for grant refresh_token (this account uses ${auth.grant}, which needs no sign-in)`);
  }
  return auth.tokenFile;
}

/** The account's client (secret from clientSecretFile, else a public client) and the scope to ask for. */
export function loginClient(account: string, auth: OAuth2AuthConfig, ep: ProviderEndpoints): { config: oidc.Configuration; scope: string } {
  const clientAuth = auth.clientSecretFile ? oidc.ClientSecretPost(readFileSync(auth.clientSecretFile, 'utf8').replace(/\r?\n$/, '')) : oidc.None();
  return { config: clientConfiguration(account, ep, auth.clientId!, clientAuth, auth.requestTimeoutMs), scope: scopeOf(auth) };
}

/** Stores the refresh token of a completed sign-in (0600, atomically); refuses a response without one. */
export function storeLogin(account: string, auth: OAuth2AuthConfig, tokenFile: string, tokens: oidc.TokenEndpointResponse, scope: string): DeviceLoginResult {
  if (!tokens.refresh_token) {
    throw new AppError('E_IMAP_AUTH', `account ${account}: the server issued no refresh token (the scope must allow offline access, e.g. offline_access)`);
  }
  writeRefreshToken(tokenFile, { refresh_token: tokens.refresh_token, updated_at: new Date().toISOString(), client_id: auth.clientId, scope: tokens.scope ?? scope });
  return { tokenFile, scope: tokens.scope, accessTokenExpiresInS: tokens.expires_in };
}

export function loginError(account: string, what: string, e: unknown): AppError {
  if (e instanceof oidc.ResponseBodyError) {
    return new AppError('E_IMAP_AUTH', `account ${account}: ${what} refused: ${e.error}${e.error_description ? `: ${e.error_description.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`, { cause: e });
  }
  const err = e as Error & { cause?: { code?: string } };
  return new AppError('E_IMAP_CONNECT', `account ${account}: ${what} failed: ${err.message}${err.cause?.code ? ` (${err.cause.code})` : ''}`, { cause: e });
}
