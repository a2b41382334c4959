export * from './errors.js';
export * from './limits.js';
export * from './received.js';
export * from './dkim.js';
export * from './fingerprint-value.js';
export * from './types.js';
export * from './db-url.js';
