/**
 * The HTTP API: a thin fastify adapter over the app use cases. This module owns the server's
 * life — timeouts, the connection cap and graceful close (connections.ts), the token check, the
 * error handler, metrics of every request, listening — and registers the routes, which live one
 * concern per file under routes/. Built without listening (`buildServer`) so tests can use
 * inject(); `startServer` adds the binding checks and listens.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AppError } from '../core/index.js';
import type { AppContext, Logger } from '../app/index.js';
import type { FolderStatus, TokenHealth } from '../app/poll.js';
import { assertSafeBinding, authorize, hasTokens, type TokenSet } from './auth.js';
import { trackConnections } from './connections.js';
import { errorHandler } from './errors.js';
import { httpLogger } from './log.js';
import { Metrics } from './metrics.js';
import {
  registerExportRoutes,
  registerHealthRoutes,
  registerLookupRoutes,
  registerMessageRoutes,
  registerPrivacyRoutes,
  registerStatsRoutes,
  type RelayStatusSource,
  type RouteDeps,
  type SignerStatus,
} from './routes/index.js';
import { registerStatic } from './static.js';

export { pathOf, redactUrl } from './log.js';

/** Anything that reports poller status (app/poll.ts Poller). */
export interface PollerStatusSource {
  status(): FolderStatus[];
  /** OAuth2 token health of its accounts (Poller.tokens). */
  tokens?(): TokenHealth[];
}

export interface HttpServerOptions {
  app: AppContext;
  tokens: TokenSet;
  /** Pollers running in this process (none with `--no-poll`). */
  pollers?: readonly PollerStatusSource[];
  /** Parent logger; the server logs through a child `{ component: 'http' }`. */
  logger?: Logger;
  /** Folder served at `/` (the dashboard); default src|dist/http/public when it exists, null = none. */
  publicDir?: string | null;
  /** Status of the outbound signing certificate, when this process signs (shown by /healthz and /metrics). */
  signer?: () => SignerStatus | null;
  /** The signing relay, when this process runs one: its health (with the upstream's) and metrics text. */
  relay?: RelayStatusSource;
  /** The clock of lookups, erasure times and export dates (ms since the epoch); default Date.now. */
  now?: () => number;
}

/** Where the dashboard's files sit next to this module (src/http/public, or dist/http/public after post-build). */
export function defaultPublicDir(): string | null {
  const dir = fileURLToPath(new URL('./public/', import.meta.url));
  return existsSync(dir) ? dir : null;
}

/** Builds the fastify instance with every route (not listening yet). */
export async function buildServer(o: HttpServerOptions): Promise<FastifyInstance> {
  const { app, tokens } = o;
  const httpConfig = app.config.http;
  const fastify = Fastify({
    loggerInstance: httpLogger(o.logger ?? app.logger) as FastifyBaseLogger,
    bodyLimit: httpConfig.bodyLimit,
    // Scalars coerce (query strings are text) but never into arrays: {"addresses": "a@b.c"} is a
    // 400, as the schema says, not a silently wrapped one-element batch.
    ajv: { customOptions: { coerceTypes: true } },
    routerOptions: { maxParamLength: 400, ignoreTrailingSlash: true },
    return503OnClosing: true,
    // Every socket has a deadline (issue #12.9): a client that trickles its headers or body, or
    // sits idle, cannot hold a connection. Node checks the deadlines every second here, not
    // every 30 s (its default), so they hold to about a second.
    requestTimeout: httpConfig.requestTimeoutMs,
    keepAliveTimeout: httpConfig.keepAliveTimeoutMs,
    connectionTimeout: httpConfig.idleTimeoutMs,
    http: { connectionsCheckingInterval: 1000 },
    // Closing is handled by trackConnections: Node's own closeIdleConnections() would destroy sockets.
    forceCloseConnections: false,
  });
  fastify.server.headersTimeout = Math.min(httpConfig.headersTimeoutMs, httpConfig.requestTimeoutMs);
  const metrics = new Metrics();
  const pollers = o.pollers ?? [];

  fastify.setErrorHandler(errorHandler);
  fastify.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such route' } });
  });
  const requestDone = trackConnections(fastify, httpConfig.maxConnections);
  // After the in-flight count above, so a refused request is counted in and out like any other.
  if (hasTokens(tokens)) {
    // Without tokens (loopback only, checked at start) there is nothing to check: no hook at all.
    fastify.addHook('onRequest', async (req) => {
      authorize(tokens, req.routeOptions.config?.access ?? 'read', req.headers.authorization);
    });
  }
  fastify.addHook('onResponse', (req, reply, done) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    requestDone(req.raw.socket);
    done();
  });

  const deps: RouteDeps = {
    app,
    metrics,
    now: o.now ?? Date.now,
    polling: pollers.length > 0,
    pollerStatus: () => pollers.flatMap((p) => p.status()),
    tokenStatus: () => pollers.flatMap((p) => p.tokens?.() ?? []),
    signer: () => o.signer?.() ?? null,
    relay: o.relay,
  };
  registerHealthRoutes(fastify, deps);
  registerLookupRoutes(fastify, deps);
  registerExportRoutes(fastify, deps);
  registerStatsRoutes(fastify, deps);
  registerPrivacyRoutes(fastify, deps);
  registerMessageRoutes(fastify, deps);

  const publicDir = o.publicDir === undefined ? defaultPublicDir() : o.publicDir;
  if (publicDir) registerStatic(fastify, publicDir);
  return fastify;
}

export interface StartOptions extends HttpServerOptions {
  host: string;
  port: number;
}

/** Checks the binding (no reachable address without tokens), builds and listens. Returns the bound URL. */
export async function startServer(o: StartOptions): Promise<{ server: FastifyInstance; url: string }> {
  assertSafeBinding(o.host, o.tokens);
  const server = await buildServer(o);
  try {
    await server.listen({ host: o.host, port: o.port });
  } catch (e) {
    await server.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new AppError('E_CONFIG', `http.host/http.port: cannot listen on ${o.host}:${o.port}: ${code ?? (e as Error).message}`, { cause: e });
  }
  const addr = server.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { server, url: `http://${host}:${port}` };
}
