/**
 * OAuth2 settings of an IMAP account (`auth: { type: oauth2, … }`, issue #13's contract).
 *
 * Like every other secret, client secrets, private keys and refresh tokens are never config
 * values: the config names the files that hold them, read when a token is requested.
 */
import * as z from 'zod';

export const OAUTH_PROVIDERS = ['microsoft', 'google', 'generic'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];
export const OAUTH_GRANTS = ['client_credentials', 'refresh_token', 'jwt_bearer'] as const;
export type OAuthGrant = (typeof OAUTH_GRANTS)[number];
export const SASL_OAUTH_MECHANISMS = ['XOAUTH2', 'OAUTHBEARER'] as const;
export type SaslOAuthMechanism = (typeof SASL_OAUTH_MECHANISMS)[number];

const filePath = z.string().min(1);
const httpUrl = z.url({ protocol: /^https?$/ });

/** The scope each preset asks for when none is configured. */
export const PRESET_SCOPES = {
  microsoft: { client_credentials: 'https://outlook.office365.com/.default', refresh_token: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access' },
  google: { refresh_token: 'https://mail.google.com/', jwt_bearer: 'https://mail.google.com/' },
} as const;

export const oauth2AuthSchema = z
  .strictObject({
    type: z.literal('oauth2'),
    provider: z.enum(OAUTH_PROVIDERS).default('generic'),
    grant: z.enum(OAUTH_GRANTS),
    /** generic only: the token endpoint. Presets know theirs. */
    tokenUrl: httpUrl.optional(),
    /** generic only: the device authorization endpoint (RFC 8628), for `auth login`. */
    deviceAuthorizationUrl: httpUrl.optional(),
    /** generic only: the authorization endpoint, for `auth login --browser` (RFC 8252 loopback redirect). */
    authorizationUrl: httpUrl.optional(),
    /** microsoft only: the directory (tenant) id or a verified domain; `organizations` for delegated multi-tenant apps. */
    tenantId: z.string().regex(/^[A-Za-z0-9.-]{1,100}$/, 'a tenant id (GUID) or domain').optional(),
    clientId: z.string().min(1).max(500).optional(),
    clientSecretFile: filePath.optional(),
    /** Certificate (PEM) whose key signs the client assertion (RFC 7523 private_key_jwt); Microsoft identifies it by its SHA-1 thumbprint (x5t). */
    certificateFile: filePath.optional(),
    /** PEM private key of certificateFile (or, for generic jwt_bearer / private_key_jwt without a certificate, the signing key). */
    privateKeyFile: filePath.optional(),
    /** Key id (kid) put in signed assertions, when the server selects keys by kid. */
    keyId: z.string().min(1).max(200).optional(),
    /** google jwt_bearer: the service account's JSON key file (client_email, private_key, token_uri). */
    serviceAccountKeyFile: filePath.optional(),
    /** generic jwt_bearer: the assertion's issuer (default clientId). */
    assertionIssuer: z.string().min(1).max(500).optional(),
    /** jwt_bearer: the assertion's subject (default the account's user, the mailbox). */
    subject: z.string().min(1).max(500).optional(),
    /** refresh_token: JSON file (mode 0600) holding the refresh token; written by `auth login`, rewritten atomically on rotation. */
    tokenFile: filePath.optional(),
    scope: z.string().min(1).max(2000).optional(),
    mechanism: z.enum(SASL_OAUTH_MECHANISMS).default('XOAUTH2'),
    /** A cached token is renewed this long before it expires (at most half its lifetime). */
    refreshAheadSeconds: z.number().int().min(0).max(3600).default(300),
    /** Timeout of one token request. */
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(30_000),
  })
  .superRefine((a, ctx) => {
    const need = (key: keyof typeof a, why: string) => {
      if (a[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `required ${why}` });
    };
    const forbid = (key: keyof typeof a, why: string) => {
      if (a[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `not allowed ${why}` });
    };
    if (a.provider === 'generic') need('tokenUrl', 'for provider: generic');
    else {
      forbid('tokenUrl', `for provider: ${a.provider} (the preset knows its endpoint)`);
      forbid('authorizationUrl', `for provider: ${a.provider} (the preset knows its endpoint)`);
    }
    if (a.provider === 'microsoft') need('tenantId', 'for provider: microsoft');
    else forbid('tenantId', 'except for provider: microsoft');
    if (a.provider === 'microsoft' && a.grant === 'jwt_bearer') {
      ctx.addIssue({ code: 'custom', path: ['grant'], message: 'provider microsoft supports client_credentials or refresh_token' });
    }
    if (a.provider === 'google' && a.grant === 'client_credentials') {
      ctx.addIssue({ code: 'custom', path: ['grant'], message: 'provider google supports refresh_token (user consent) or jwt_bearer (service account with domain-wide delegation)' });
    }
    if (a.grant === 'jwt_bearer' && a.provider === 'google') {
      need('serviceAccountKeyFile', 'for google jwt_bearer (the service account key)');
    } else {
      forbid('serviceAccountKeyFile', 'except for google jwt_bearer');
      need('clientId', `for grant ${a.grant}`);
    }
    if (a.grant === 'jwt_bearer' && a.provider === 'generic') need('privateKeyFile', 'for jwt_bearer (the assertion signing key)');
    if (a.grant === 'refresh_token') need('tokenFile', 'for grant refresh_token (written by `smime-census auth login`)');
    else forbid('tokenFile', 'except for grant refresh_token');
    if (a.grant === 'client_credentials') {
      const secret = a.clientSecretFile !== undefined;
      const key = a.privateKeyFile !== undefined;
      if (secret === key) {
        ctx.addIssue({ code: 'custom', path: ['clientSecretFile'], message: 'client_credentials needs exactly one of clientSecretFile or privateKeyFile (+ certificateFile)' });
      }
    }
    if (a.certificateFile !== undefined) need('privateKeyFile', 'with certificateFile');
    if (a.provider === 'microsoft' && a.privateKeyFile !== undefined) need('certificateFile', 'for microsoft (its thumbprint identifies the key)');
    if (a.provider === 'generic' && a.scope === undefined) need('scope', 'for provider: generic');
  });

export type OAuth2AuthConfig = z.infer<typeof oauth2AuthSchema>;

/** `auth:` of an account: `password` (the default: passwordFile & co.) or `oauth2`. */
export const accountAuthSchema = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('password') }), oauth2AuthSchema]);
export type AccountAuthConfig = z.infer<typeof accountAuthSchema>;

