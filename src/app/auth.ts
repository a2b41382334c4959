/**
 * OAuth2 account use cases behind `smime-census auth login|status`: the first consent (device
 * flow, or the browser with a loopback redirect) for refresh-token accounts, and each account's
 * token state without any token.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../core/index.js';
import { accountName, type Config, type ImapAccountConfig, type OAuth2AuthConfig } from '../config/index.js';
import { browserLogin, deviceLogin, readTokenState, tokenStatePath, type BrowserPrompt, type DeviceLoginResult, type DevicePrompt, type TokenState } from '../source/imap/index.js';

/**
 * Folder of the token state files: `auth/` beside the SQLite database (a server database URL
 * has no folder: ./data/auth then). The poller writes them, `auth status` reads them.
 */
export function authStateDir(config: Pick<Config, 'db'>): string {
  const db = config.db;
  if (db.includes('://') || db === ':memory:') return resolve('data', 'auth');
  return join(dirname(resolve(db)), 'auth');
}

function oauthAccount(config: Config, name: string): { account: ImapAccountConfig; auth: OAuth2AuthConfig } {
  const account = config.accounts.find((a) => accountName(a) === name);
  if (!account) {
    const known = config.accounts.map(accountName);
    throw new AppError('E_CONFIG', `accounts: no account named ${name}${known.length ? ` (configured: ${known.join(', ')})` : ''}`);
  }
  if (account.auth?.type !== 'oauth2') throw new AppError('E_CONFIG', `accounts: account ${name} does not use auth.type oauth2`);
  return { account, auth: account.auth };
}

/** Runs the device authorization grant for an account and stores its refresh token. */
export async function authLogin(config: Config, name: string, prompt: (p: DevicePrompt) => void, signal?: AbortSignal): Promise<DeviceLoginResult> {
  const { auth } = oauthAccount(config, name);
  return deviceLogin(name, auth, prompt, signal);
}

/**
 * The browser sign-in (authorization code + PKCE, loopback redirect to 127.0.0.1:`port`) for
 * an account, storing its refresh token: Google's way for the Gmail scope.
 */
export async function authBrowserLogin(config: Config, name: string, prompt: (p: BrowserPrompt) => void, o: { port?: number; signal?: AbortSignal } = {}): Promise<DeviceLoginResult> {
  const { auth } = oauthAccount(config, name);
  return browserLogin(name, auth, prompt, o);
}

/** One account's token state, as `auth status` shows it. */
export interface AccountTokenStatus {
  account: string;
  provider: string;
  grant: string;
  mechanism: string;
  /** refresh_token: whether the token file exists, and when it was last written. */
  tokenFile: { path: string; present: boolean; updatedAt: string | null; mode: string | null } | null;
  /** What the poller last recorded (null before its first token request). */
  state: TokenState | null;
  /** Seconds until the last access token expires (negative: expired), null if none. */
  secondsToExpiry: number | null;
}

/** The token state of every OAuth2 account (never a token). */
export function authStatus(config: Config, now = Date.now()): AccountTokenStatus[] {
  const dir = authStateDir(config);
  return config.accounts
    .filter((a): a is ImapAccountConfig & { auth: OAuth2AuthConfig } => a.auth?.type === 'oauth2')
    .map((a) => {
      const name = accountName(a);
      const state = readTokenState(tokenStatePath(dir, name));
      let tokenFile: AccountTokenStatus['tokenFile'] = null;
      if (a.auth.tokenFile) {
        const path = a.auth.tokenFile;
        const present = existsSync(path);
        let updatedAt: string | null = null;
        let mode: string | null = null;
        if (present) {
          mode = (statSync(path).mode & 0o777).toString(8).padStart(4, '0');
          try {
            updatedAt = (JSON.parse(readFileSync(path, 'utf8')) as { updated_at?: string }).updated_at ?? null;
          } catch {
            updatedAt = null;
          }
        }
        tokenFile = { path, present, updatedAt, mode };
      }
      const exp = state?.expiresAt ? Date.parse(state.expiresAt) : NaN;
      return {
        account: name,
        provider: a.auth.provider,
        grant: a.auth.grant,
        mechanism: a.auth.mechanism,
        tokenFile,
        state,
        secondsToExpiry: Number.isNaN(exp) ? null : Math.round((exp - now) / 1000),
      };
    });
}
