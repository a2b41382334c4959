/**
 * The signing SMTP relay (issue 16): an adapter like http/, over the census lookup and the
 * S/MIME signer; upstream delivery through nodemailer's SMTP transport.
 */
export { startRelay, assertSafeRelayListener, RETRY_MEMORY_MS, SIGN_ERROR_LOG_INTERVAL_MS } from './server.js';
export type { Relay, RelayOptions, RelayStatus } from './server.js';
export { planRecipients } from './decide.js';
export type { RecipientPlan } from './decide.js';
export { hashPassword, loadUsers } from './users.js';
export type { UserDb } from './users.js';
export { censusOf } from './census.js';
export { RelayMetrics } from './metrics.js';
