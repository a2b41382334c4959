/**
 * POST /v1/messages: mail pushed in by a helpdesk or a webhook (issue #13). The body is one
 * RFC 5322 message (`Content-Type: message/rfc822`); only its header block and, for S/MIME,
 * the signed message are kept (app/import.ts ingestPushed, source/push.ts). Idempotent on Message-ID like every source.
 * Admin token only: it writes evidence that decides whether mail is signed.
 */
import type { FastifyInstance } from 'fastify';
import { ingestPushed } from '../../app/index.js';
import * as S from '../schemas.js';
import type { RouteDeps } from './deps.js';

/** Registers the route; http.maxMessageBytes is its own body limit (mail is larger than API requests). */
export function registerMessageRoutes(fastify: FastifyInstance, d: RouteDeps): void {
  const { app } = d;
  const maxBytes = app.config.http.maxMessageBytes;
  fastify.register(async (scope) => {
    // Encapsulated: the raw-bytes parser exists only for this route's content type.
    scope.addContentTypeParser('message/rfc822', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));
    scope.post<{ Body: Buffer }>(
      '/v1/messages',
      { config: { access: 'admin' }, bodyLimit: maxBytes, schema: { response: { 202: S.pushCountsSchema } } },
      async (req, reply) => {
        // Other types have fastify's default parsers (JSON, text): refuse them here.
        if (!Buffer.isBuffer(req.body) || !/^message\/rfc822\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
          return reply.code(415).send({ error: { code: 'E_USAGE', message: 'Content-Type must be message/rfc822' } });
        }
        const counts = await ingestPushed(app, req.body, 'http');
        req.log.info({ stored: counts.stored, duplicates: counts.duplicates, skipped: counts.skipped }, 'message pushed');
        return reply.code(202).send({ stored: counts.stored, duplicates: counts.duplicates, skipped: counts.skipped });
      },
    );
  });
}
