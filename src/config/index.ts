/**
 * Configuration: one zod schema, loaded as defaults < file < environment (CENSUS_*) < flags,
 * validated once, frozen, and passed explicitly. A bad value names its key.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { DocumentOptions, ParseOptions, SchemaOptions, ToJSOptions } from 'yaml';
import { z } from 'zod';
import { AppError } from '../core/index.js';
import { OTHER_URL } from '../store/db-url.js';
import { imapAccountSchema, pollSchema, accountFromEnv, OAUTH_PATH_KEYS } from './imap.js';
import { relaySchema } from './relay.js';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
/**
 * The YAML parser, loaded on first use (~120 ms of CPU at start-up otherwise): most processes
 * never parse YAML — the shipped rules come precompiled and many runs have no config file.
 */
function parseYaml(text: string, options: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions): unknown {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule.parse(text, options);
}

export * from './imap.js';
export * from './relay.js';

const domain = z
  .string()
  .min(1)
  .transform((s) => s.trim().toLowerCase().replace(/^@/, ''))
  .pipe(z.string().regex(/^[a-z0-9.-]+\.[a-z0-9-]+$|^[a-z0-9-]+$/, 'must be a domain name such as example.com'));

export const configSchema = z.strictObject({
  /** SQLite database file. */
  db: z.string().min(1).default('./data/census.db'),
  /** The company's own domains: their mail is skipped (it says nothing about customers). */
  ownDomains: z.array(domain).default([]),
  policy: z
    .strictObject({
      mode: z.enum(['strict', 'lenient']).default('strict'),
      /** Evidence older than this many days no longer counts. */
      windowDays: z.number().int().min(1).max(3650).default(180),
    })
    .default({ mode: 'strict', windowDays: 180 }),
  /** Operator rule folders, applied after the shipped rules (same id overrides, new ids extend). */
  rulesDirs: z.array(z.string().min(1)).default([]),
  /** authserv-id of the receiving server whose Authentication-Results we trust (RFC 8601); unset = trust none. */
  trustedAuthservId: z.string().min(1).optional(),
  /** File holding the key for erasure hashes; default `<db>.key`, created on first use. */
  erasureKeyFile: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  accounts: z.array(imapAccountSchema).default([]),
  poll: pollSchema.default(pollSchema.parse({})),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8025),
      readTokenFile: z.string().min(1).optional(),
      adminTokenFile: z.string().min(1).optional(),
      /** Largest POST /v1/recipients/lookup batch. */
      maxBatch: z.number().int().min(1).max(100_000).default(10_000),
      /** Largest request body in bytes. */
      bodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
      /**
       * Open connections at most. At the cap the oldest connection with no request in flight
       * (idle keep-alive, or still sending its headers) is closed for the new one, so a flood of
       * idle sockets cannot lock clients out; keep it below the process's file descriptor limit.
       */
      maxConnections: z.number().int().min(8).max(1_000_000).default(1000),
      /** Whole request (headers and body) must arrive within this; a slow body is cut off. */
      requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
      /** Headers must be complete within this after the connection (or the previous response). */
      headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** An idle keep-alive connection is closed after this. */
      keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
      /**
       * A connection with no traffic either way for this long is closed: one that never sends a
       * byte (Node's header timeout starts at the first byte), or a reader that stopped reading.
       */
      idleTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
      /** Largest message accepted by POST /v1/messages (S/MIME mail is harvested up to 27 MiB). */
      maxMessageBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(32 * 1024 * 1024),
    })
    .default({ host: '127.0.0.1', port: 8025, maxBatch: 10_000, bodyLimit: 2 * 1024 * 1024, maxMessageBytes: 32 * 1024 * 1024, maxConnections: 1000, requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 30_000 }),
  sign: z
    .strictObject({
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      chainFiles: z.array(z.string().min(1)).default([]),
      p12File: z.string().min(1).optional(),
      passphraseFile: z.string().min(1).optional(),
      passphraseEnv: z.string().min(1).optional(),
      /** Extra CA certificates (PEM files) that harvested customer certificates may chain to. */
      trustedCaFiles: z.array(z.string().min(1)).default([]),
    })
    .default({ chainFiles: [], trustedCaFiles: [] }),
  /** The signing SMTP relay (`smime-census relay`; `serve` runs it too when this is set). */
  relay: relaySchema.optional(),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

export interface LoadOptions {
  configFile?: string;
  env?: Record<string, string | undefined>;
  /** Flag values (highest precedence); undefined entries are ignored. */
  flags?: { db?: string; logLevel?: string };
}

function formatIssues(error: z.ZodError, origin: string): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .slice(0, 10)
    .map((s) => `${origin}: ${s}`)
    .join('; ');
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AppError('E_CONFIG', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    throw new AppError('E_CONFIG', `config file ${path} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new AppError('E_CONFIG', `config file ${path}: top level must be a mapping`);
  return data as Record<string, unknown>;
}

function envList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  // Strict: "12abc", "0x10" or "" are errors, never a silent fallback.
  if (!/^\d+$/.test(v)) throw new AppError('E_CONFIG', `${name}: must be a whole number, got "${v}"`);
  return Number(v);
}

/** Loads and validates the configuration. Throws AppError E_CONFIG naming the bad key. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.configFile ?? env.CENSUS_CONFIG;
  const base: Record<string, unknown> = file ? readConfigFile(file) : {};
  // Relative paths in a config file are relative to that file, not to the working directory.
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  const fileParsed = configSchema.safeParse(base);
  if (!fileParsed.success) throw new AppError('E_CONFIG', formatIssues(fileParsed.error, file ?? 'config'));
  const merged: Record<string, unknown> = { ...fileParsed.data };
  const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(baseDir, p));
  if (file) {
    // A database URL (postgres://…) is not a path: resolving it against the config's folder
    // would turn it into a SQLite file named after the URL, password and all.
    const db = fileParsed.data.db;
    merged.db = base.db !== undefined && !OTHER_URL.test(db) && db !== ':memory:' ? rel(db) : db;
    merged.rulesDirs = fileParsed.data.rulesDirs.map((d) => rel(d)!);
    if (fileParsed.data.erasureKeyFile) merged.erasureKeyFile = rel(fileParsed.data.erasureKeyFile);
    merged.accounts = fileParsed.data.accounts.map((a) => ({
      ...a,
      ...(a.passwordFile ? { passwordFile: rel(a.passwordFile) } : {}),
      ...(a.accessTokenFile ? { accessTokenFile: rel(a.accessTokenFile) } : {}),
      ...(a.caFile ? { caFile: rel(a.caFile) } : {}),
      ...(a.auth?.type === 'oauth2' ? { auth: { ...a.auth, ...Object.fromEntries(OAUTH_PATH_KEYS.filter((k) => a.auth?.type === 'oauth2' && a.auth[k]).map((k) => [k, rel((a.auth as Record<string, string>)[k])])) } } : {}),
    }));
    const http = fileParsed.data.http;
    merged.http = { ...http, readTokenFile: rel(http.readTokenFile), adminTokenFile: rel(http.adminTokenFile) };
    const relay = fileParsed.data.relay;
    if (relay) {
      merged.relay = {
        ...relay,
        upstreamPasswordFile: rel(relay.upstreamPasswordFile),
        upstreamCaFile: rel(relay.upstreamCaFile),
        usersFile: rel(relay.usersFile),
        ...(relay.dkim ? { dkim: { ...relay.dkim, keyFile: rel(relay.dkim.keyFile) } } : {}),
        ...(relay.tls ? { tls: { certFile: rel(relay.tls.certFile), keyFile: rel(relay.tls.keyFile) } } : {}),
      };
    }
  }

  // Environment overrides.
  const e = (k: string): string | undefined => (env[k] === '' ? undefined : env[k]);
  if (e('CENSUS_DB')) merged.db = e('CENSUS_DB');
  if (e('CENSUS_OWN_DOMAINS') !== undefined) merged.ownDomains = envList(e('CENSUS_OWN_DOMAINS'));
  const policy = { ...(merged.policy as object) } as Record<string, unknown>;
  if (e('CENSUS_POLICY')) policy.mode = e('CENSUS_POLICY');
  const wd = envInt(env, 'CENSUS_WINDOW_DAYS');
  if (wd !== undefined) policy.windowDays = wd;
  merged.policy = policy;
  if (e('CENSUS_RULES_DIRS') !== undefined) merged.rulesDirs = envList(e('CENSUS_RULES_DIRS'));
  if (e('CENSUS_TRUSTED_AUTHSERV_ID')) merged.trustedAuthservId = e('CENSUS_TRUSTED_AUTHSERV_ID');
  if (e('CENSUS_ERASURE_KEY_FILE')) merged.erasureKeyFile = e('CENSUS_ERASURE_KEY_FILE');
  if (e('CENSUS_LOG_LEVEL')) merged.logLevel = e('CENSUS_LOG_LEVEL');
  const http = { ...(merged.http as object) } as Record<string, unknown>;
  if (e('CENSUS_HTTP_HOST')) http.host = e('CENSUS_HTTP_HOST');
  const port = envInt(env, 'CENSUS_HTTP_PORT');
  if (port !== undefined) http.port = port;
  if (e('CENSUS_READ_TOKEN_FILE')) http.readTokenFile = e('CENSUS_READ_TOKEN_FILE');
  if (e('CENSUS_ADMIN_TOKEN_FILE')) http.adminTokenFile = e('CENSUS_ADMIN_TOKEN_FILE');
  merged.http = http;
  const envAccount = accountFromEnv(env);
  if (envAccount) merged.accounts = [...(merged.accounts as unknown[]), envAccount];

  // Flags.
  if (options.flags?.db) merged.db = options.flags.db;
  if (options.flags?.logLevel) merged.logLevel = options.flags.logLevel;

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new AppError('E_CONFIG', formatIssues(parsed.error, file ? `${file} (+ environment)` : 'environment'));
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
