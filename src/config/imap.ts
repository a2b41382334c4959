/**
 * IMAP account and poller configuration: zod schemas (imported by the main config schema),
 * the single-account-from-environment shortcut, and secret resolution.
 *
 * Secrets are never config values: an account names an environment variable or a file that
 * holds the password or XOAUTH2 access token, and the secret is read at connect time (so a
 * rotated token file is picked up on reconnect). They never appear in argv, logs or redacted
 * config output.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { AppError } from '../core/index.js';
import { accountAuthSchema } from './oauth.js';

export * from './oauth.js';

/** How the connection is secured. `plain` sends credentials in clear and must be allowed explicitly. */
export const IMAP_TLS_MODES = ['implicit', 'starttls', 'plain'] as const;
export type ImapTlsMode = (typeof IMAP_TLS_MODES)[number];

const folderName = z.string().min(1).max(1000);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const filePath = z.string().min(1);

/** One IMAP account. Exactly one secret source must be set. */
export const imapAccountSchema = z
  .strictObject({
    /** Stable id used in checkpoints, source keys and logs; defaults to `user@host`. Changing it restarts the backfill. */
    name: z.string().regex(/^[A-Za-z0-9._@+-]{1,200}$/, 'letters, digits and . _ @ + - only').optional(),
    host: z.string().min(1),
    /** Default 993 for implicit TLS, 143 otherwise. */
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.enum(IMAP_TLS_MODES).default('implicit'),
    /** Must be true for `tls: plain`: credentials cross the wire unencrypted. */
    allowPlain: z.boolean().default(false),
    user: z.string().min(1),
    passwordEnv: envName.optional(),
    passwordFile: filePath.optional(),
    accessTokenEnv: envName.optional(),
    accessTokenFile: filePath.optional(),
    /** How to log in: password (default; one of the secret keys above) or oauth2 (tokens from an authorization server). */
    auth: accountAuthSchema.optional(),
    /** PEM file of the CA (or self-signed certificate) that signed the server certificate. */
    caFile: filePath.optional(),
    /** Turns certificate verification off. Logged as a warning at every connect. */
    insecureSkipTlsVerify: z.boolean().default(false),
    /** Folders to read, e.g. ['INBOX', 'Archive']. */
    folders: z.array(folderName).min(1).default(['INBOX']),
    /**
     * Connections this account may open (servers such as Gmail allow few). With 1, the first
     * folder is watched with IDLE and the others are checked with STATUS on the same connection;
     * with N, folders are split over N connections, each IDLEing on its first folder.
     */
    connections: z.number().int().min(1).max(20).default(1),
  })
  .superRefine((a, ctx) => {
    const secrets = (['passwordEnv', 'passwordFile', 'accessTokenEnv', 'accessTokenFile'] as const).filter((k) => a[k] !== undefined);
    if (a.auth?.type === 'oauth2') {
      if (secrets.length) {
        ctx.addIssue({ code: 'custom', path: [secrets[0]!], message: `not allowed with auth.type oauth2 (tokens come from the authorization server)` });
      }
    } else if (secrets.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['passwordFile'],
        message: `exactly one of passwordEnv, passwordFile, accessTokenEnv, accessTokenFile is required (got ${secrets.length ? secrets.join(', ') : 'none'})`,
      });
    }
    if (a.tls === 'plain' && !a.allowPlain) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls: plain sends the password unencrypted; set allowPlain: true to accept that' });
    }
    if (new Set(a.folders).size !== a.folders.length) {
      ctx.addIssue({ code: 'custom', path: ['folders'], message: 'folders must not repeat' });
    }
  });

export type ImapAccountConfig = z.infer<typeof imapAccountSchema>;

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** Poller tuning shared by all accounts. Limits are validated strictly: 0, NaN or a string is an error. */
export const pollSchema = z
  .strictObject({
    /** Messages per UID FETCH and per SQLite transaction; bounds memory (a header block is a few KB). */
    batchSize: z.number().int().min(1).max(10_000).default(500),
    /** First reconnect delay after a failure; doubled each time, with ±25% jitter. */
    backoffInitialMs: ms(10, 600_000).default(1_000),
    /** Reconnect delay cap, so a long outage is retried at a steady pace. */
    backoffMaxMs: ms(10, 3_600_000).default(60_000),
    /**
     * While a server refuses connections (down, restarting), its port is probed with a bare TCP
     * connect this often (±25% jitter) during the back-off, and the reconnect follows as soon as
     * it accepts: recovery tracks the server's return instead of the back-off's next step.
     */
    probeIntervalMs: ms(100, 600_000).default(1_000),
    /**
     * IDLE is broken and re-issued after this long, with a NOOP in between: a connection that
     * died silently (NAT timeout, half-open TCP) then fails within this time instead of never.
     * RFC 9051 asks clients to re-IDLE at least every 29 minutes; middleboxes need far less.
     */
    idleRestartMs: ms(1_000, 29 * 60_000).default(120_000),
    /** A NOOP (sent at each IDLE restart) not answered within this time means the connection is dead. */
    noopTimeoutMs: ms(100, 600_000).default(30_000),
    /** How often the folders not watched by IDLE are checked with STATUS. */
    statusIntervalMs: ms(500, 3_600_000).default(30_000),
    /** Servers without IDLE are polled with NOOP this often. */
    noopIntervalMs: ms(500, 3_600_000).default(30_000),
    connectTimeoutMs: ms(1_000, 600_000).default(30_000),
    /** Socket inactivity timeout; must exceed idleRestartMs. */
    socketTimeoutMs: ms(5_000, 3_600_000).default(300_000),
    /** poll --once: consecutive connection failures after which an account is given up. */
    onceMaxAttempts: z.number().int().min(1).max(100).default(5),
    /** Without a TTY: a structured progress line per folder this often during backfill. */
    progressLogIntervalMs: ms(500, 3_600_000).default(10_000),
    /**
     * Several pollers on one database share the folders through leases (README "Scaling out").
     * A folder lease lasts this long unless renewed: a poller that dies loses its folders after
     * at most this, and another takes them over within leaseRenewMs more.
     */
    leaseTtlMs: ms(1_000, 3_600_000).default(15_000),
    /** How often a poller renews its leases and looks for free folders; at most half the ttl, so one failed renewal loses nothing. */
    leaseRenewMs: ms(100, 1_800_000).default(5_000),
  })
  .refine((p) => p.leaseRenewMs * 2 <= p.leaseTtlMs, { path: ['leaseRenewMs'], message: 'must be <= leaseTtlMs / 2' })
  .refine((p) => p.backoffMaxMs >= p.backoffInitialMs, { path: ['backoffMaxMs'], message: 'must be >= backoffInitialMs' })
  .refine((p) => p.socketTimeoutMs > p.idleRestartMs, { path: ['socketTimeoutMs'], message: 'must be > idleRestartMs' });

export type PollConfig = z.infer<typeof pollSchema>;

/** The poll defaults (every key set). */
export const POLL_DEFAULTS: PollConfig = pollSchema.parse({});

/**
 * A single account given entirely by environment (containers, quick starts):
 * CENSUS_IMAP_URL=imaps://user@host:port (or imap://, which uses STARTTLS),
 * CENSUS_IMAP_FOLDERS (comma list, default INBOX), CENSUS_IMAP_PASSWORD_FILE or
 * CENSUS_IMAP_PASSWORD, CENSUS_IMAP_CA_FILE. Returns null when CENSUS_IMAP_URL is unset.
 */
export function accountFromEnv(env: Record<string, string | undefined>): ImapAccountConfig | null {
  const raw = env.CENSUS_IMAP_URL;
  if (raw === undefined || raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('E_CONFIG', 'CENSUS_IMAP_URL: not a URL (expected imaps://user@host:port)');
  }
  if (url.protocol !== 'imaps:' && url.protocol !== 'imap:') {
    throw new AppError('E_CONFIG', `CENSUS_IMAP_URL: scheme must be imaps: or imap:, got ${url.protocol}`);
  }
  if (url.password) {
    // Never echo the URL back: it holds the secret.
    throw new AppError('E_CONFIG', 'CENSUS_IMAP_URL: must not contain a password; use CENSUS_IMAP_PASSWORD_FILE or CENSUS_IMAP_PASSWORD');
  }
  if (!url.username) throw new AppError('E_CONFIG', 'CENSUS_IMAP_URL: the user is missing (imaps://user@host:port)');
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw new AppError('E_CONFIG', 'CENSUS_IMAP_URL: must have no path or query; folders go in CENSUS_IMAP_FOLDERS');
  }
  const folders = (env.CENSUS_IMAP_FOLDERS ?? 'INBOX').split(',').map((f) => f.trim()).filter(Boolean);
  const candidate: Record<string, unknown> = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    tls: url.protocol === 'imaps:' ? 'implicit' : 'starttls',
    user: decodeURIComponent(url.username),
    folders: folders.length ? folders : ['INBOX'],
  };
  if (url.port) candidate.port = Number(url.port);
  if (env.CENSUS_IMAP_PASSWORD_FILE) candidate.passwordFile = env.CENSUS_IMAP_PASSWORD_FILE;
  else if (env.CENSUS_IMAP_PASSWORD !== undefined) candidate.passwordEnv = 'CENSUS_IMAP_PASSWORD';
  if (env.CENSUS_IMAP_CA_FILE) candidate.caFile = env.CENSUS_IMAP_CA_FILE;
  const parsed = imapAccountSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join('.') === 'passwordFile' ? 'CENSUS_IMAP_PASSWORD_FILE' : `CENSUS_IMAP_* (${issue?.path.join('.')})`;
    throw new AppError('E_CONFIG', `${key}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** The account's stable id (used in checkpoints and source keys). */
export function accountName(a: ImapAccountConfig): string {
  return a.name ?? `${a.user}@${a.host}`;
}

/** The port to connect to: explicit, or the IANA default for the TLS mode. */
export function accountPort(a: ImapAccountConfig): number {
  return a.port ?? (a.tls === 'implicit' ? 993 : 143);
}

export type ImapSecret = { kind: 'password'; value: string } | { kind: 'accessToken'; value: string };

/** Reads the account's secret from its environment variable or file (trailing newline trimmed). */
export function resolveSecret(a: ImapAccountConfig, env: Record<string, string | undefined> = process.env): ImapSecret {
  const name = accountName(a);
  const fromEnv = (key: string, v: string): string => {
    const value = env[v];
    if (value === undefined || value === '') throw new AppError('E_SECRET', `account ${name}: ${key} names ${v}, which is not set`);
    return value;
  };
  const fromFile = (key: string, path: string): string => {
    let value: string;
    try {
      value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new AppError('E_SECRET', `account ${name}: ${key} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
    }
    if (value === '') throw new AppError('E_SECRET', `account ${name}: ${key} ${path} is empty`);
    return value;
  };
  if (a.passwordEnv) return { kind: 'password', value: fromEnv('passwordEnv', a.passwordEnv) };
  if (a.passwordFile) return { kind: 'password', value: fromFile('passwordFile', a.passwordFile) };
  if (a.accessTokenEnv) return { kind: 'accessToken', value: fromEnv('accessTokenEnv', a.accessTokenEnv) };
  if (a.accessTokenFile) return { kind: 'accessToken', value: fromFile('accessTokenFile', a.accessTokenFile) };
  throw new AppError('E_CONFIG', `account ${name}: no secret configured`);
}

/** The account as shown by `config check`: secret sources are named, secret values never read. */
export function redactAccount(a: ImapAccountConfig): Record<string, unknown> {
  return { name: accountName(a), ...a, port: accountPort(a) };
}
