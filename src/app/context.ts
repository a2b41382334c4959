import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { AppError } from '../core/index.js';
import type { Config } from '../config/index.js';
import { loadRules, defaultRulesDir, type RuleSet } from '../classify/index.js';
import { isPostgresUrl, type CensusStore } from '../store/index.js';
import { openCensusStore, type OpenStoreOptions } from './open-store.js';
import { createLogger, type Logger } from './logger.js';
import { createPipeline, type Pipeline } from './ingest.js';

export interface AppContext {
  readonly config: Config;
  readonly store: CensusStore;
  readonly logger: Logger;
  /** Rules are loaded on first use: lookups and exports never need them. */
  readonly rules: RuleSet;
  readonly pipeline: Pipeline;
  /** Keyed hash of an address for the erasure list (HMAC-SHA256 with the erasure key). */
  erasureHash(address: string): string;
  /** Keyed hash of a stored message identity (Message-ID or `sha256:` header hash) for erasure. */
  messageErasureHash(messageId: string): string;
  close(): Promise<void>;
}

export interface OpenAppOptions extends OpenStoreOptions {
  config: Config;
  logger?: Logger;
}

/**
 * The erasure key lives in a file beside the database (or where configured), not in it: a
 * copy of the database alone must not allow a dictionary attack on the erased addresses.
 */
function loadErasureKey(config: Config, dbPath: string, readonly: boolean): Buffer {
  if (!config.erasureKeyFile && isPostgresUrl(dbPath)) {
    // Every poller and API instance must hash with the same key, and a URL has no "beside".
    throw new AppError('E_CONFIG', 'erasureKeyFile: required with a PostgreSQL db (every process sharing the database must use the same key file)');
  }
  const file = config.erasureKeyFile ?? (dbPath === ':memory:' ? null : `${dbPath}.key`);
  if (file === null) return randomBytes(32);
  if (existsSync(file)) {
    try {
      const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
      if (key.length < 16) throw new Error('key shorter than 16 bytes');
      return key;
    } catch (e) {
      throw new AppError('E_SECRET', `cannot read erasure key ${file}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (readonly) return randomBytes(32);
  const key = randomBytes(32);
  // Written aside and linked into place: the key file appears whole or not at all, so processes
  // starting together (several pollers on a fresh census) never read a half-written key, and
  // exactly one key wins (link fails with EEXIST for the others, which then read it).
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadErasureKey(config, dbPath, readonly);
    throw new AppError('E_SECRET', `cannot create erasure key ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    rmSync(tmp, { force: true });
  }
  return key;
}

/** Opens the store and wires the stages together for the use cases. */
export function openApp(options: OpenAppOptions): AppContext {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const dbPath = options.dbPath ?? config.db;
  const store = openCensusStore(config, options);
  let key: Buffer;
  try {
    key = loadErasureKey(config, dbPath, !!options.readonly);
  } catch (e) {
    void store.close();
    throw e;
  }
  let rules: RuleSet | undefined;
  let pipeline: Pipeline | undefined;
  const ctx: AppContext = {
    config,
    store,
    logger,
    get rules(): RuleSet {
      rules ??= loadRules([defaultRulesDir(), ...config.rulesDirs]);
      return rules;
    },
    get pipeline(): Pipeline {
      pipeline ??= createPipeline(ctx);
      return pipeline;
    },
    erasureHash(address: string): string {
      return createHmac('sha256', key).update(address.toLowerCase()).digest('hex');
    },
    messageErasureHash(messageId: string): string {
      // A separate domain: a Message-ID hash can never equal an address hash.
      return createHmac('sha256', key).update('message-id\u0000').update(messageId).digest('hex');
    },
    close(): Promise<void> {
      return store.close();
    },
  };
  return ctx;
}
