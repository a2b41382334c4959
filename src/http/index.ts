export { buildServer, startServer, redactUrl, defaultPublicDir } from './server.js';
export type { HttpServerOptions, StartOptions, PollerStatusSource } from './server.js';
export { loadTokens, tokensFrom, isLoopback, assertSafeBinding, authorize, MIN_TOKEN_LENGTH } from './auth.js';
export type { TokenSet, Scope, RouteAccess } from './auth.js';
export { HTTP_STATUS, statusOf, toHttpError } from './errors.js';
export type { ErrorBody } from './errors.js';
export { Metrics, LATENCY_BUCKETS } from './metrics.js';
