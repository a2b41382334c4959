/**
 * Where each provider's endpoints are, and the openid-client Configuration for an account.
 *
 * openid-client (v6, on oauth4webapi) does the token requests: client authentication
 * (client_secret_basic, private_key_jwt), response validation, RFC 8628 polling with slow_down
 * handling, and typed OAuth errors are solved problems we do not write again.
 */
import { isIP } from 'node:net';
import * as oidc from 'openid-client';
import { AppError } from '../../../core/index.js';
import { PRESET_SCOPES, type OAuth2AuthConfig } from '../../../config/oauth.js';

export interface ProviderEndpoints {
  issuer: string;
  tokenUrl: string;
  deviceAuthorizationUrl?: string;
  /** The authorization endpoint, for the browser (loopback redirect) sign-in. */
  authorizationUrl?: string;
}

/** The endpoints of an account's provider (presets know theirs; generic ones are configured). */
export function endpointsOf(auth: OAuth2AuthConfig, serviceAccountTokenUri?: string): ProviderEndpoints {
  switch (auth.provider) {
    case 'microsoft': {
      const base = `https://login.microsoftonline.com/${encodeURIComponent(auth.tenantId ?? '')}`;
      return { issuer: `${base}/v2.0`, tokenUrl: `${base}/oauth2/v2.0/token`, deviceAuthorizationUrl: `${base}/oauth2/v2.0/devicecode`, authorizationUrl: `${base}/oauth2/v2.0/authorize` };
    }
    case 'google':
      return {
        issuer: 'https://accounts.google.com',
        tokenUrl: serviceAccountTokenUri ?? 'https://oauth2.googleapis.com/token',
        deviceAuthorizationUrl: 'https://oauth2.googleapis.com/device/code',
        authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
      };
    case 'generic': {
      const url = new URL(auth.tokenUrl!);
      return { issuer: url.origin, tokenUrl: url.href, deviceAuthorizationUrl: auth.deviceAuthorizationUrl, authorizationUrl: auth.authorizationUrl };
    }
  }
}

/** The scope to ask for: configured, or the preset's. */
export function scopeOf(auth: OAuth2AuthConfig): string {
  if (auth.scope) return auth.scope;
  const preset = (PRESET_SCOPES as Record<string, Record<string, string> | undefined>)[auth.provider]?.[auth.grant];
  if (!preset) throw new AppError('E_CONFIG', `auth.scope: required for provider ${auth.provider} with grant ${auth.grant}`);
  return preset;
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/**
 * An openid-client Configuration for the endpoints. Plain http is refused except to loopback
 * (a local test or a sidecar token broker): tokens and secrets must not cross a network in clear.
 */
export function clientConfiguration(
  account: string,
  ep: ProviderEndpoints,
  clientId: string,
  clientAuth: oidc.ClientAuth,
  timeoutMs: number,
): oidc.Configuration {
  const urls = [ep.tokenUrl, ep.deviceAuthorizationUrl, ep.authorizationUrl].filter((u): u is string => !!u).map((u) => new URL(u));
  let insecure = false;
  for (const u of urls) {
    if (u.protocol === 'http:') {
      if (!isLoopbackHost(u.hostname)) throw new AppError('E_CONFIG', `account ${account}: auth endpoint ${u.origin} must use https (plain http only to loopback)`);
      insecure = true;
    }
  }
  const config = new oidc.Configuration(
    {
      issuer: ep.issuer,
      token_endpoint: ep.tokenUrl,
      ...(ep.deviceAuthorizationUrl ? { device_authorization_endpoint: ep.deviceAuthorizationUrl } : {}),
      ...(ep.authorizationUrl ? { authorization_endpoint: ep.authorizationUrl } : {}),
    },
    clientId,
    undefined,
    clientAuth,
  );
  config.timeout = Math.ceil(timeoutMs / 1000);
  if (insecure) oidc.allowInsecureRequests(config);
  return config;
}
