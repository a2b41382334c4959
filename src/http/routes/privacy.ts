/**
 * Data-subject requests (admin token): DELETE /v1/recipients/{address} (right to erasure) and
 * GET /v1/recipients/{address}/observations (right of access).
 */
import type { FastifyInstance } from 'fastify';
import { forget, show } from '../../app/index.js';
import * as S from '../schemas.js';
import type { RouteDeps } from './deps.js';

export function registerPrivacyRoutes(fastify: FastifyInstance, d: RouteDeps): void {
  const { app, now } = d;

  fastify.delete<{ Params: { address: string } }>(
    '/v1/recipients/:address',
    { config: { access: 'admin' }, schema: { params: S.addressParamsSchema, response: { 200: S.forgetResponseSchema, ...S.withErrors } } },
    async (req) => forget(app, req.params.address, now()),
  );

  fastify.get<{ Params: { address: string } }>(
    '/v1/recipients/:address/observations',
    { config: { access: 'admin' }, schema: { params: S.addressParamsSchema, response: { 200: S.showResponseSchema, ...S.withErrors } } },
    async (req) => show(app, req.params.address),
  );
}
