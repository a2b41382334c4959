/**
 * The HTTP API: a thin fastify adapter over the app use cases (lookup, export, stats, forget,
 * show). Built without listening (`buildServer`) so tests can use inject(); `startServer`
 * adds the binding checks and listens.
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AppError, type Recommendation } from '../core/index.js';
import { exportCsv, forget, lookupMany, lookupOne, show, type AppContext, type LookupResult, type Logger } from '../app/index.js';
import type { FolderStatus, TokenHealth } from '../app/poll.js';
import { renderTokenMetrics, tokenHealthView } from './token-health.js';
import type { ExportFilter } from '../store/index.js';
import { assertSafeBinding, authorize, hasTokens, type RouteAccess, type TokenSet } from './auth.js';
import { errorHandler } from './errors.js';
import { Metrics } from './metrics.js';
import * as S from './schemas.js';
import { registerStatic } from './static.js';
import { registerMessageRoutes } from './messages.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Token scope the route needs (default `read`). */
    access?: RouteAccess;
  }
}

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
  signer?: () => { notAfter: Date; daysLeft: number; expiringSoon: boolean; subject: string } | null;
  /** The signing relay, when this process runs one: its health (with the upstream's) and metrics text. */
  relay?: { status(): Promise<object>; metrics: { render(): Promise<string> } };
}

/** Where the dashboard's files sit next to this module (src/http/public, or dist/http/public after post-build). */
export function defaultPublicDir(): string | null {
  const dir = fileURLToPath(new URL('./public/', import.meta.url));
  return existsSync(dir) ? dir : null;
}

const RECIPIENT_PATH = /^(\/v1\/recipients\/)[^/?]*/;
/** A path segment that cannot hold an address or a token: letters, digits and `-._~`. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]*$/;

/** The path of a request URL: a query string can carry tokens or addresses and is never logged. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * A request URL fit for logs at info level: no query string, the address segment of
 * /v1/recipients/… replaced, and any other segment that is not plain text (an address in an odd
 * URL such as /V1/recipients/x@y or /v1//recipients/x%40y) replaced too.
 */
export function redactUrl(url: string): string {
  const path = pathOf(url).replace(RECIPIENT_PATH, '$1:address');
  return path
    .split('/')
    .map((seg) => (PLAIN_SEGMENT.test(seg) || seg === ':address' ? seg : ':redacted'))
    .join('/');
}

/** Parses `since`: YYYY-MM-DD or an ISO date-time (as the CLI's --since). */
function parseSince(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? v + 'T00:00:00Z' : v);
  if (!Number.isFinite(t)) throw new AppError('E_USAGE', `since: not a date: ${JSON.stringify(v)} (use YYYY-MM-DD)`);
  return t;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

function folderView(f: FolderStatus) {
  return { ...f, lastSyncAt: iso(f.lastSyncAt), lastSuccessAt: iso(f.lastSuccessAt) };
}

/** Builds the fastify instance with every route (not listening yet). */
export async function buildServer(o: HttpServerOptions): Promise<FastifyInstance> {
  const { app, tokens } = o;
  const httpConfig = app.config.http;
  const policy = app.config.policy;
  const parent = o.logger ?? app.logger;
  // Addresses are personal data: at info the URL loses its address segment; at debug it stays.
  const debug = parent.isLevelEnabled('debug');
  const logger = parent.child(
    { component: 'http' },
    {
      serializers: {
        // At info a matched request logs its route pattern; at debug its path. Never the query.
        req: (req: { method: string; url: string; ip?: string; routeOptions?: { url?: string } }) => ({
          method: req.method,
          url: debug ? pathOf(req.url) : (req.routeOptions?.url ?? redactUrl(req.url)),
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  );
  const fastify = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
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
    // Closing is handled below: Node's own closeIdleConnections() would destroy sockets.
    forceCloseConnections: false,
  });
  const metrics = new Metrics();
  const pollers = o.pollers ?? [];
  const pollerStatus = (): FolderStatus[] => pollers.flatMap((p) => p.status());
  const tokenStatus = (): TokenHealth[] => pollers.flatMap((p) => p.tokens?.() ?? []);
  // The signing certificate's expiry, warned from 30 days before (the service stays up: mail is then sent unsigned).
  const signerHealth = (): { signer?: { notAfter: string; daysLeft: number; expiringSoon: boolean; subject: string } } => {
    const st = o.signer?.() ?? null;
    return st ? { signer: { notAfter: st.notAfter.toISOString(), daysLeft: st.daysLeft, expiringSoon: st.expiringSoon, subject: st.subject } } : {};
  };

  fastify.setErrorHandler(errorHandler);
  fastify.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such route' } });
  });
  // Graceful close. server.close() makes Node destroy every "idle" keep-alive socket, and a
  // socket whose response has ended counts as idle even while the end of a large export still
  // sits in its write buffer: the download would be cut off. Instead, idle sockets are ended
  // (pending data flushed, then FIN) and busy ones as soon as their response is done.
  const sockets = new Map<Socket, number>(); // open socket -> requests in flight on it
  let closing = false;
  fastify.server.headersTimeout = Math.min(httpConfig.headersTimeoutMs, httpConfig.requestTimeoutMs);
  const maxConnections = httpConfig.maxConnections;
  fastify.server.on('connection', (s: Socket) => {
    if (sockets.size >= maxConnections) {
      // At the cap: close the oldest connection with no request in flight (Map order is
      // arrival order), so idle or header-trickling sockets cannot lock clients out. When every
      // connection is busy, the new one is refused instead.
      let victim: Socket | undefined;
      for (const [o, n] of sockets) {
        if (n === 0) {
          victim = o;
          break;
        }
      }
      if (victim === undefined) {
        s.destroy();
        return;
      }
      sockets.delete(victim);
      victim.destroy();
    }
    sockets.set(s, 0);
    s.once('close', () => sockets.delete(s));
  });
  fastify.server.closeIdleConnections = (): void => {
    closing = true;
    for (const [s, n] of sockets) if (n === 0) s.end();
  };
  // Callback style: no promise per request on the hot path.
  fastify.addHook('onRequest', (req, _reply, done) => {
    const n = sockets.get(req.raw.socket);
    if (n !== undefined) sockets.set(req.raw.socket, n + 1);
    done();
  });
  // After the in-flight count above, so a refused request is counted in and out like any other.
  if (hasTokens(tokens)) {
    // Without tokens (loopback only, checked at start) there is nothing to check: no hook at all.
    fastify.addHook('onRequest', async (req) => {
      authorize(tokens, req.routeOptions.config?.access ?? 'read', req.headers.authorization);
    });
  }
  fastify.addHook('onResponse', (req, reply, done) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    const s = req.raw.socket;
    const n = sockets.get(s);
    if (n !== undefined) {
      sockets.set(s, n - 1);
      if (closing && n <= 1) s.end();
    }
    done();
  });

  const withErrors = { 400: S.errorSchema, 401: S.errorSchema, 403: S.errorSchema, 413: S.errorSchema, 503: S.errorSchema };

  fastify.get('/v1/ping', { config: { access: 'open' }, schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));

  fastify.get('/healthz', { config: { access: 'open' }, schema: { response: { 200: S.healthResponseSchema, 503: S.healthResponseSchema } } }, async (_req, reply) => {
    const health = await app.store.health();
    const readable = health.ok;
    const error = health.error;
    void reply.code(readable ? 200 : 503);
    return {
      status: readable ? 'ok' : 'unavailable',
      db: error === undefined ? { readable } : { readable, error },
      uptimeSeconds: Math.round(process.uptime()),
      pollers: pollerStatus().map((f) => ({ account: f.account, folder: f.folder, state: f.state, healthy: f.healthy, lastSyncAt: iso(f.lastSyncAt), lastSuccessAt: iso(f.lastSuccessAt), lastError: f.lastError })),
      ...signerHealth(),
      ...(tokenStatus().length ? { oauth: tokenStatus().map(tokenHealthView) } : {}),
      ...(o.relay ? { relay: await o.relay.status() } : {}),
    };
  });

  fastify.get('/metrics', { config: { access: 'read' } }, async (_req, reply) => {
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    const counters = await app.store.getCounters();
    const text = (await metrics.render({ counters: () => counters, pollers: pollerStatus, signer: () => o.signer?.() ?? null })) + renderTokenMetrics(tokenStatus());
    return o.relay ? text + (await o.relay.metrics.render()) : text;
  });

  fastify.get<{ Params: { address: string } }>(
    '/v1/recipients/:address',
    // No params schema on the hot path: lookupOne validates the address (syntax and length) itself.
    { schema: { response: { 200: S.lookupResultSchema, ...withErrors } } },
    async (req) => {
      const r = await lookupOne(app.store, policy, req.params.address, Date.now(), true);
      metrics.countLookup(r.recommendation);
      return r;
    },
  );

  // All addresses of a batch are read from one snapshot (the store's lookupMany).
  const lookupBatch = async (addresses: readonly string[], clients: boolean): Promise<LookupResult[]> => {
    const results = await lookupMany(app.store, policy, addresses, Date.now(), clients);
    for (const r of results) metrics.countLookup(r.recommendation);
    return results;
  };

  fastify.post<{ Body: { addresses: string[]; clients?: boolean } }>(
    '/v1/recipients/lookup',
    { schema: { body: S.batchBodySchema, response: { 200: S.batchResponseSchema, ...withErrors } } },
    async (req) => {
      const { addresses, clients = false } = req.body;
      if (addresses.length > httpConfig.maxBatch) {
        throw new AppError('E_LIMIT', `batch of ${addresses.length} addresses exceeds the limit of ${httpConfig.maxBatch} (http.maxBatch); split it`);
      }
      return { results: await lookupBatch(addresses, clients) };
    },
  );

  fastify.get<{ Querystring: { recommendation?: Recommendation; family?: string; since?: string } }>(
    '/v1/export.csv',
    { schema: { querystring: S.exportQuerySchema } },
    async (req, reply) => {
      const filter: ExportFilter = { recommendation: req.query.recommendation, family: req.query.family, since: parseSince(req.query.since) };
      const day = new Date().toISOString().slice(0, 10);
      void reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="smime-census-${day}.csv"`)
        .header('cache-control', 'no-store');
      // Readable.from pulls the next page only when the socket drained: memory stays flat.
      return reply.send(Readable.from(exportCsv(app.store, policy, filter), { objectMode: false }));
    },
  );

  fastify.get('/v1/stats', { schema: { response: { 200: S.statsResponseSchema } } }, async () => ({
    generatedAt: new Date().toISOString(),
    ...(await app.store.stats()),
    pollers: pollerStatus().map(folderView),
  }));

  fastify.get<{ Querystring: { top: number } }>('/v1/unknown-headers', { schema: { querystring: S.unknownQuerySchema, response: { 200: S.unknownResponseSchema } } }, async (req) => ({
    unknown: await app.store.unknownFingerprints(req.query.top),
  }));

  fastify.get('/v1/pollers', { schema: { response: { 200: S.pollersResponseSchema } } }, async () => ({
    polling: pollers.length > 0,
    pollers: pollerStatus().map(folderView),
    checkpoints: (await app.store.listCheckpoints()).map((c) => ({ ...c, updatedAt: new Date(c.updatedAt).toISOString() })),
  }));

  fastify.delete<{ Params: { address: string } }>(
    '/v1/recipients/:address',
    { config: { access: 'admin' }, schema: { params: S.addressParamsSchema, response: { 200: S.forgetResponseSchema, ...withErrors } } },
    async (req) => forget(app, req.params.address),
  );

  fastify.get<{ Params: { address: string } }>(
    '/v1/recipients/:address/observations',
    { config: { access: 'admin' }, schema: { params: S.addressParamsSchema, response: { 200: S.showResponseSchema, ...withErrors } } },
    async (req) => show(app, req.params.address),
  );

  registerMessageRoutes(fastify, app, { maxBytes: httpConfig.maxMessageBytes });

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
