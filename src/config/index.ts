/**
 * Configuration: one zod schema, loaded as defaults < file < environment (CENSUS_*) < flags,
 * validated once, frozen, and passed explicitly. A bad value names its key.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { DocumentOptions, ParseOptions, SchemaOptions, ToJSOptions } from 'yaml';
import * as z from 'zod';
import { AppError } from '../core/index.js';
import { isMisspeltPostgresUrl, OTHER_URL } from '../core/db-url.js';
import { imapAccountSchema, pollSchema, accountFromEnv } from './imap.js';
import { CONFIG_KEYS, type ConfigKey } from './keys.js';
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
export * from './keys.js';

const domain = z
  .string()
  .min(1)
  .transform((s) => s.trim().toLowerCase().replace(/^@/, ''))
  .pipe(z.string().regex(/^[a-z0-9.-]+\.[a-z0-9-]+$|^[a-z0-9-]+$/, 'must be a domain name such as example.com'));

export const configSchema = z.strictObject({
  /** SQLite database file. */
  db: z
    .string()
    .min(1)
    // Refused here, where the error names the key, before anything could resolve it as a path
    // or create a SQLite file named after it (password and all).
    .refine((v) => !isMisspeltPostgresUrl(v), { message: 'a PostgreSQL URL starts with postgres:// (two slashes)' })
    .default('./data/census.db'),
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
  serve: z
    .strictObject({
      /** `serve` runs the configured IMAP pollers (false: an API-only instance). */
      poll: z.boolean().default(true),
    })
    .default({ poll: true }),
  /** The signing SMTP relay (`smime-census relay`; `serve` runs it too when this is set). */
  relay: relaySchema.optional(),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** A flag value as the CLI parser gives it: the option's text, or false for a `--no-x` flag. */
export type FlagValue = string | boolean | undefined;

export interface LoadOptions {
  configFile?: string;
  env?: Record<string, string | undefined>;
  /**
   * Command-line values (highest precedence), by config key (`db`, `logLevel`, `http.port`, …:
   * the keys whose table row names a flag); undefined entries are ignored.
   */
  flags?: Readonly<Record<string, FlagValue>>;
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Calls `fn` with the object holding a table key's last segment and that segment, for every
 * place the key occurs in `data` (`accounts[].caFile`: once per account). With `create`,
 * missing objects on the way are made (a key set from the environment or a flag).
 */
function visitKey(data: Obj, key: string, fn: (holder: Obj, name: string) => void, create = false): void {
  const segments = key.split('.');
  const walk = (node: Obj, i: number): void => {
    const seg = segments[i]!;
    if (i === segments.length - 1) return fn(node, seg);
    if (seg.endsWith('[]')) {
      const list = node[seg.slice(0, -2)];
      if (Array.isArray(list)) for (const el of list) if (isObj(el)) walk(el, i + 1);
      return;
    }
    if (!isObj(node[seg])) {
      if (!create) return;
      node[seg] = {};
    }
    walk(node[seg] as Obj, i + 1);
  };
  walk(data, 0);
}

/**
 * A path from a config file, relative to that file's folder. A URL (`postgres://…`) or
 * `:memory:` is not a path: resolving it would turn a database URL into a SQLite file named
 * after it, password and all. Anything not a non-empty string is left for the schema to refuse.
 */
function resolveFrom(baseDir: string, v: unknown): unknown {
  if (typeof v !== 'string' || v === '' || OTHER_URL.test(v) || isMisspeltPostgresUrl(v) || v === ':memory:') return v;
  return resolve(baseDir, v);
}

/** Resolves every path key of a config file's data against the file's folder (the table says which keys are paths). */
function resolvePaths(data: Obj, baseDir: string): void {
  for (const k of CONFIG_KEYS) {
    if (k.type !== 'path' && k.type !== 'path list') continue;
    visitKey(data, k.key, (holder, name) => {
      const v = holder[name];
      if (v === undefined) return;
      holder[name] = k.type === 'path list' && Array.isArray(v) ? v.map((x) => resolveFrom(baseDir, x)) : resolveFrom(baseDir, v);
    });
  }
}

/**
 * A value written as text (environment, command line) in the key's type. Strict: "12abc",
 * "0x10" or "yes" are errors naming where they came from, never a silent fallback.
 */
function fromText(k: ConfigKey, text: string, origin: string, code: 'E_CONFIG' | 'E_USAGE'): unknown {
  switch (k.type) {
    case 'integer':
      if (!/^\d+$/.test(text)) throw new AppError(code, `${origin}: must be a whole number, got "${text}"`);
      return Number(text);
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new AppError(code, `${origin}: must be true or false, got "${text}"`);
      return text === 'true';
    case 'list':
    case 'path list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return text;
  }
}

/** The flag as named in messages (`--port`), for a key set on the command line. */
function flagName(k: ConfigKey): string {
  return k.flag?.name ?? k.key;
}

/** Loads and validates the configuration: defaults < file < environment < flags. Throws AppError E_CONFIG (E_USAGE for a flag) naming the bad key. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.configFile ?? env.CENSUS_CONFIG;
  const fromFile: Obj = file ? readConfigFile(file) : {};
  // Relative paths in a config file are relative to that file, not to the working directory.
  if (file) resolvePaths(fromFile, dirname(resolve(file)));
  const fileParsed = configSchema.safeParse(fromFile);
  if (!fileParsed.success) throw new AppError('E_CONFIG', formatIssues(fileParsed.error, () => file ?? 'config'));
  // Plain data (strings, numbers, booleans, arrays, objects): a deep copy to write into.
  const merged = structuredClone(fileParsed.data) as Obj;

  // Where each key set above the file came from, to name it if the result is invalid.
  const origins = new Map<string, { origin: string; flag: boolean }>();
  const set = (k: ConfigKey, value: unknown, origin: string, flag: boolean): void => {
    visitKey(merged, k.key, (holder, name) => (holder[name] = value), true);
    origins.set(k.key, { origin, flag });
  };
  for (const k of CONFIG_KEYS) {
    if (!k.env) continue;
    const text = env[k.env];
    // Empty means unset: `CENSUS_DB= smime-census …` must not select a database named "".
    if (text !== undefined && text !== '') set(k, fromText(k, text, k.env, 'E_CONFIG'), k.env, false);
  }
  const envAccount = accountFromEnv(env);
  if (envAccount) merged.accounts = [...(merged.accounts as unknown[]), envAccount];
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    const k = CONFIG_KEYS.find((row) => row.key === key && row.flag);
    if (!k) throw new AppError('E_INTERNAL', `loadConfig: ${key} has no command-line flag in the config table`);
    set(k, typeof value === 'boolean' ? value : fromText(k, value, flagName(k), 'E_USAGE'), flagName(k), true);
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const originOf = (key: string) => origins.get(key);
    const first = parsed.error.issues[0];
    const code = first && originOf(first.path.join('.'))?.flag ? 'E_USAGE' : 'E_CONFIG';
    throw new AppError(code, formatIssues(parsed.error, (key) => originOf(key)?.origin ?? (file ? `${file} (+ environment)` : 'environment')));
  }
  return deepFreeze(parsed.data);
}

/** "origin: key: message" per issue (at most 10), so every message names the bad key and where it was set. */
function formatIssues(error: z.ZodError, originOf: (key: string) => string): string {
  return error.issues
    .slice(0, 10)
    .map((i) => {
      const key = i.path.length ? i.path.join('.') : '(top level)';
      return `${originOf(key)}: ${key}: ${i.message}`;
    })
    .join('; ');
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
