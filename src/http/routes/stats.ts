/**
 * The dashboard's data: server-side aggregates only, so the page stays fast whatever the size
 * of the database. GET /v1/stats, /v1/unknown-headers and /v1/pollers.
 */
import type { FastifyInstance } from 'fastify';
import { censusStats } from '../../app/index.js';
import * as S from '../schemas.js';
import { folderView, type RouteDeps } from './deps.js';

export function registerStatsRoutes(fastify: FastifyInstance, d: RouteDeps): void {
  const { app } = d;

  fastify.get('/v1/stats', { schema: { response: { 200: S.statsResponseSchema } } }, async () => {
    const now = d.now();
    return { generatedAt: new Date(now).toISOString(), ...(await censusStats(app, now)), pollers: d.pollerStatus().map(folderView) };
  });

  fastify.get<{ Querystring: { top: number } }>('/v1/unknown-headers', { schema: { querystring: S.unknownQuerySchema, response: { 200: S.unknownResponseSchema } } }, async (req) => ({
    unknown: await app.store.unknownFingerprints(req.query.top),
  }));

  fastify.get('/v1/pollers', { schema: { response: { 200: S.pollersResponseSchema } } }, async () => ({
    polling: d.polling,
    pollers: d.pollerStatus().map(folderView),
    checkpoints: (await app.store.listCheckpoints()).map((c) => ({ ...c, updatedAt: new Date(c.updatedAt).toISOString() })),
  }));
}
