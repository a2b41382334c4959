/**
 * A tiny static file handler for the dashboard folder (a few files; @fastify/static would be a
 * dependency for a dozen lines). Paths are resolved inside the folder only, dotfiles are not
 * served, and the files carry no data: the dashboard reads the API with its own token.
 */
import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serves `dir` at `/` (index.html for `/`). */
export function registerStatic(fastify: FastifyInstance, dir: string): void {
  const root = resolve(dir);
  const send = (reply: FastifyReply, rel: string) => {
    let path: string;
    try {
      path = resolve(root, decodeURIComponent(rel));
    } catch {
      return reply.code(400).send({ error: { code: 'E_USAGE', message: 'bad path' } });
    }
    const inside = path === root || path.startsWith(root + sep);
    const hidden = rel.split('/').some((s) => s.startsWith('.'));
    let file = path;
    try {
      if (!inside || hidden) throw new Error('outside');
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      return reply
        .type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
        .header('content-length', st.size)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(createReadStream(file));
    } catch {
      return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such file' } });
    }
  };
  fastify.get('/', { config: { access: 'open' } }, (_req, reply) => send(reply, 'index.html'));
  fastify.get<{ Params: { '*': string } }>('/*', { config: { access: 'open' } }, (req, reply) => send(reply, req.params['*']));
}
