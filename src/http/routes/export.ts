/** GET /v1/export.csv: the census as CSV for marketing, streamed page by page (app/export.ts). */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Recommendation } from '../../core/index.js';
import { exportCsv, parseSince } from '../../app/index.js';
import type { ExportFilter } from '../../store/index.js';
import * as S from '../schemas.js';
import type { RouteDeps } from './deps.js';

export function registerExportRoutes(fastify: FastifyInstance, d: RouteDeps): void {
  const { app, now } = d;
  const policy = app.config.policy;

  fastify.get<{ Querystring: { recommendation?: Recommendation; family?: string; since?: string } }>(
    '/v1/export.csv',
    { schema: { querystring: S.exportQuerySchema } },
    async (req, reply) => {
      const filter: ExportFilter = { recommendation: req.query.recommendation, family: req.query.family, since: parseSince(req.query.since, 'since') };
      const at = now();
      const day = new Date(at).toISOString().slice(0, 10);
      void reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="smime-census-${day}.csv"`)
        .header('cache-control', 'no-store');
      // Readable.from pulls the next page only when the socket drained: memory stays flat.
      return reply.send(Readable.from(exportCsv(app.store, policy, filter, at), { objectMode: false }));
    },
  );
}
