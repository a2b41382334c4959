/**
 * HTTP client for senders on other hosts: the same CensusRecommender methods as openCensus,
 * over `smime-census serve` (global fetch, no dependency). Errors come back as AppError with
 * the server's code; a service that cannot be reached is E_DB (the census data is unavailable).
 */
import { AppError, ERROR_CODES, type ErrorCode } from '../core/index.js';
import type { LookupResult } from '../app/index.js';
import type { CensusRecommender, RecommendOptions } from './types.js';

export interface CensusClientOptions {
  /** Base URL of the service, e.g. `http://census.internal:8025`. */
  url: string;
  /** Bearer token (the `read` token suffices for lookups). Read it from a file or secret store, not argv. */
  token?: string;
  /** Addresses per POST (the server's http.maxBatch bounds it; default 1000). */
  batchSize?: number;
  /** Per-request timeout in ms (default 5000). */
  timeoutMs?: number;
  /** fetch implementation (default the global fetch). */
  fetch?: typeof fetch;
}

export interface CensusClient extends CensusRecommender {
  readonly url: string;
}

function positiveInt(v: number | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new AppError('E_CONFIG', `${name}: must be a positive whole number, got ${String(v)}`);
  return v;
}

/** Creates an HTTP client for the census service. */
export function createCensusClient(options: CensusClientOptions): CensusClient {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (e) {
    throw new AppError('E_CONFIG', `url: not a URL: ${JSON.stringify(options.url)}`, { cause: e });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new AppError('E_CONFIG', `url: must be http: or https:, got ${base.protocol}`);
  const root = base.href.replace(/\/+$/, '');
  const batchSize = positiveInt(options.batchSize, 'batchSize', 1000);
  const timeoutMs = positiveInt(options.timeoutMs, 'timeoutMs', 5000);
  const doFetch = options.fetch ?? globalThis.fetch;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const postHeaders = { ...headers, 'content-type': 'application/json' };

  async function call<T>(path: string, init: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(root + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new AppError('E_DB', `census service ${root} cannot be reached: ${(e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e as Error).message}`, { cause: e });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      throw new AppError('E_DB', `census service ${root} answered ${res.status} without JSON`, { cause: e });
    }
    if (!res.ok) {
      const err = (body as { error?: { code?: string; message?: string } }).error;
      const code: ErrorCode = err?.code && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'E_INTERNAL';
      throw new AppError(code, `census service: ${err?.message ?? `HTTP ${res.status}`}`);
    }
    return body as T;
  }

  return {
    url: root,
    recommend: (address: string, o?: RecommendOptions) => {
      // Lookups of one address return the client list anyway (GET returns the full LookupResult).
      void o;
      return call<LookupResult>(`/v1/recipients/${encodeURIComponent(address)}`, { method: 'GET', headers });
    },
    async recommendMany(addresses: readonly string[], o?: RecommendOptions): Promise<LookupResult[]> {
      const out: LookupResult[] = [];
      for (let i = 0; i < addresses.length; i += batchSize) {
        const chunk = addresses.slice(i, i + batchSize);
        const r = await call<{ results: LookupResult[] }>('/v1/recipients/lookup', {
          method: 'POST',
          headers: postHeaders,
          body: JSON.stringify({ addresses: chunk, clients: o?.clients === true }),
        });
        for (const x of r.results) out.push(x);
      }
      return out;
    },
  };
}
