/**
 * Liveness and monitoring: GET /v1/ping and /healthz (open, for load balancers and service
 * managers) and GET /metrics (read token: the text names accounts and folders).
 */
import type { FastifyInstance } from 'fastify';
import { renderTokenMetrics, tokenHealthView } from '../token-health.js';
import * as S from '../schemas.js';
import { iso, type RouteDeps } from './deps.js';

export function registerHealthRoutes(fastify: FastifyInstance, d: RouteDeps): void {
  const { app } = d;
  // The signing certificate's expiry, warned from 30 days before (the service stays up: mail is then sent unsigned).
  const signerHealth = (): { signer?: { notAfter: string; daysLeft: number; expiringSoon: boolean; subject: string } } => {
    const st = d.signer();
    return st ? { signer: { notAfter: st.notAfter.toISOString(), daysLeft: st.daysLeft, expiringSoon: st.expiringSoon, subject: st.subject } } : {};
  };

  fastify.get('/v1/ping', { config: { access: 'open' }, schema: { response: { 200: S.pingResponseSchema } } }, async () => ({ ok: true }));

  fastify.get('/healthz', { config: { access: 'open' }, schema: { response: { 200: S.healthResponseSchema, 503: S.healthResponseSchema } } }, async (_req, reply) => {
    const health = await app.store.health();
    const readable = health.ok;
    const error = health.error;
    void reply.code(readable ? 200 : 503);
    const tokens = d.tokenStatus();
    return {
      status: readable ? 'ok' : 'unavailable',
      db: error === undefined ? { readable } : { readable, error },
      uptimeSeconds: Math.round(process.uptime()),
      pollers: d.pollerStatus().map((f) => ({ account: f.account, folder: f.folder, state: f.state, healthy: f.healthy, lastSyncAt: iso(f.lastSyncAt), lastSuccessAt: iso(f.lastSuccessAt), lastError: f.lastError })),
      ...signerHealth(),
      ...(tokens.length ? { oauth: tokens.map(tokenHealthView) } : {}),
      ...(d.relay ? { relay: await d.relay.status() } : {}),
    };
  });

  fastify.get('/metrics', { config: { access: 'read' } }, async (_req, reply) => {
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    const counters = await app.store.getCounters();
    const text = (await d.metrics.render({ counters: () => counters, pollers: d.pollerStatus, signer: d.signer })) + renderTokenMetrics(d.tokenStatus());
    return d.relay ? text + (await d.relay.metrics.render()) : text;
  });
}
