/** The API's routes, one concern per module; server.ts registers them all with one RouteDeps. */
export { registerExportRoutes } from './export.js';
export { registerHealthRoutes } from './health.js';
export { registerLookupRoutes } from './lookup.js';
export { registerMessageRoutes } from './messages.js';
export { registerPrivacyRoutes } from './privacy.js';
export { registerStatsRoutes } from './stats.js';
export type { RelayStatusSource, RouteDeps, SignerStatus } from './deps.js';
