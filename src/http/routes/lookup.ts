/**
 * The sending side's question, one address or a batch: GET /v1/recipients/{address} and
 * POST /v1/recipients/lookup. The hot path of the service (scripts/bench/http.mjs).
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/index.js';
import { lookupMany, lookupOne, lookupOneSync, type LookupResult } from '../../app/index.js';
import * as S from '../schemas.js';
import type { RouteDeps } from './deps.js';

export function registerLookupRoutes(fastify: FastifyInstance, d: RouteDeps): void {
  const { app, metrics, now } = d;
  const policy = app.config.policy;
  const maxBatch = app.config.http.maxBatch;

  // No params schema on the hot path: lookupOne validates the address (syntax and length) itself.
  const one = { schema: { response: { 200: S.lookupResultSchema, ...S.withErrors } } };
  const embedded = app.store.embedded;
  if (embedded) {
    // An embedded store answers synchronously: a plain handler whose return value fastify sends,
    // without the promises and the microtask turns of an async one on every lookup.
    fastify.get<{ Params: { address: string } }>('/v1/recipients/:address', one, (req) => {
      const r = lookupOneSync(embedded, policy, req.params.address, now(), true);
      metrics.countLookup(r.recommendation);
      return r;
    });
  } else {
    fastify.get<{ Params: { address: string } }>('/v1/recipients/:address', one, async (req) => {
      const r = await lookupOne(app.store, policy, req.params.address, now(), true);
      metrics.countLookup(r.recommendation);
      return r;
    });
  }

  // All addresses of a batch are read from one snapshot (the store's lookupMany).
  const lookupBatch = async (addresses: readonly string[], clients: boolean): Promise<LookupResult[]> => {
    const results = await lookupMany(app.store, policy, addresses, now(), clients);
    // Three counter increments per batch, not one per address.
    let sign = 0;
    let doNotSign = 0;
    for (const r of results) {
      if (r.recommendation === 'sign') sign++;
      else if (r.recommendation === 'do-not-sign') doNotSign++;
    }
    if (sign) metrics.countLookup('sign', sign);
    if (doNotSign) metrics.countLookup('do-not-sign', doNotSign);
    if (results.length - sign - doNotSign) metrics.countLookup('unknown', results.length - sign - doNotSign);
    return results;
  };

  fastify.post<{ Body: { addresses: string[]; clients?: boolean } }>(
    '/v1/recipients/lookup',
    { schema: { body: S.batchBodySchema, response: { 200: S.batchResponseSchema, ...S.withErrors } } },
    async (req) => {
      const { addresses, clients = false } = req.body;
      if (addresses.length > maxBatch) {
        throw new AppError('E_LIMIT', `batch of ${addresses.length} addresses exceeds the limit of ${maxBatch} (http.maxBatch); split it`);
      }
      return { results: await lookupBatch(addresses, clients) };
    },
  );
}
