/**
 * Where an account's IMAP login comes from, asked once per connect: a password or static
 * access token read from its env variable or file (so a rotated file is picked up on
 * reconnect), or an OAuth2 access token from the account's token provider.
 */
import type { Logger } from 'pino';
import { accountName, resolveSecret, type ImapAccountConfig } from '../../config/imap.js';
import type { SaslOAuthMechanism } from '../../config/oauth.js';
import { OAuthTokenProvider } from './oauth/provider.js';
import { tokenStatePath, type TokenState } from './oauth/files.js';

/** The credentials of one login. */
export type ImapLogin = { user: string; pass: string } | { user: string; accessToken: string; mechanism?: SaslOAuthMechanism };

export interface CredentialSource {
  /** Credentials for the next login. */
  credentials(): Promise<ImapLogin>;
  /**
   * The server refused `login`. True when asking credentials() again may give different ones
   * (a renewed token): the caller then retries the login once before reporting E_IMAP_AUTH.
   */
  rejected(login: ImapLogin): boolean;
  /** Token state, for OAuth2 accounts (null for passwords). */
  tokenStatus(): (TokenState & { secondsToExpiry: number | null }) | null;
}

export interface CredentialSourceOptions {
  logger: Logger;
  env?: Record<string, string | undefined>;
  /** Folder of the token state files (`auth status`); none keeps the state in memory. */
  stateDir?: string;
}

/** The credential source of an account (one per account and process: OAuth2 tokens are cached in it). */
export function credentialSource(account: ImapAccountConfig, o: CredentialSourceOptions): CredentialSource {
  const auth = account.auth;
  if (auth?.type === 'oauth2') {
    const name = accountName(account);
    const provider = new OAuthTokenProvider({
      account: name,
      user: account.user,
      auth,
      logger: o.logger,
      stateFile: o.stateDir ? tokenStatePath(o.stateDir, name) : undefined,
    });
    return {
      credentials: () => provider.credentials(),
      rejected: (login) => {
        if (!('accessToken' in login)) return false;
        provider.rejected(login.accessToken);
        return true;
      },
      tokenStatus: () => ({ ...provider.status(), secondsToExpiry: provider.secondsToExpiry() }),
    };
  }
  return {
    credentials: async () => {
      const secret = resolveSecret(account, o.env);
      return secret.kind === 'password' ? { user: account.user, pass: secret.value } : { user: account.user, accessToken: secret.value };
    },
    rejected: () => false,
    tokenStatus: () => null,
  };
}
