/**
 * The dashboard folder, served by @fastify/static (path resolution, encoding, ranges, ETags and
 * dotfiles are its job, not ours: the hand-made handler it replaced decoded paths twice and served
 * `/%252eenv`). The files carry no data — the dashboard reads the API with its own token — so
 * every route registered here is open.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Serves `dir` at `/` (index.html for `/`); dotfiles and anything outside `dir` are 404. */
export function registerStatic(fastify: FastifyInstance, dir: string): void {
  void fastify.register(async (scope) => {
    // Routes of this encapsulated scope only: the API keeps its token checks.
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'open' };
    });
    await scope.register(fastifyStatic, {
      root: dir,
      // 'ignore' answers 404 as for a missing file (not 403, which would confirm it exists).
      dotfiles: 'ignore',
      // The page changes with every release and is tiny: revalidate each load.
      cacheControl: false,
      setHeaders: (reply) => {
        reply.header('cache-control', 'no-cache');
        reply.header('x-content-type-options', 'nosniff');
      },
    });
  });
}
