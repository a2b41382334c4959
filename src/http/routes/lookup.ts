/**
 * The sending side's question, one address or a batch: GET /v1/recipients/{address} and
 * POST /v1/recipients/lookup. The hot path of the service (scripts/bench/http.mjs).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../../core/index.js';
import { checkAddress, lookupCheckedSync, lookupMany, lookupOne, type LookupResult } from '../../app/index.js';
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
    // An embedded store answers synchronously, so the lookups of one event-loop turn are read
    // together, after the turn has read all its requests (setImmediate): the handler checks the
    // address (a bad one is refused at once, as before) and queues it. Interleaved with the
    // parsing and writing of each request, every lookup ran with SQLite's pages and code and the
    // JSON code cold in the CPU's caches; one after another they run warm (scripts/bench/http.mjs:
    // server CPU per lookup, see the commit). A request waits at most for the other requests its
    // turn had already read; alone in its turn it waits one setImmediate. Every lookup still
    // reads a snapshot begun after its request arrived (lookupSnapshotPerTurn).
    let addresses: string[] = [];
    let replies: FastifyReply[] = [];
    const answerTurn = (): void => {
      const as = addresses;
      const rs = replies;
      addresses = [];
      replies = [];
      for (let i = 0; i < as.length; i++) {
        let r: LookupResult;
        try {
          r = lookupCheckedSync(embedded, policy, as[i]!, now(), true);
        } catch (e) {
          // A store failure answers each request it hits (errorHandler), not the others.
          void rs[i]!.send(e);
          continue;
        }
        metrics.countLookup(r.recommendation);
        void rs[i]!.send(r);
      }
    };
    fastify.get<{ Params: { address: string } }>('/v1/recipients/:address', one, (req, reply) => {
      const a = checkAddress(req.params.address);
      if (addresses.length === 0) setImmediate(answerTurn);
      addresses.push(a);
      replies.push(reply);
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
