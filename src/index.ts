/**
 * Package entry (`import { openCensus } from 'smime-census'`): what a sending application needs.
 * - openCensus: in-process, read-only lookups on the census database (same host).
 * - createCensusClient: the same methods over the HTTP API (other hosts).
 * - buildServer / startServer: embed the HTTP API.
 */
export { openCensus, createCensusClient } from './library/index.js';
export type { Census, OpenCensusOptions, CensusClient, CensusClientOptions, CensusRecommender, RecommendOptions } from './library/index.js';
export type { LookupResult, ClientSummary } from './app/index.js';
export type { Recommendation, SmimeLevel, ErrorCode } from './core/index.js';
export { AppError, isAppError, ERROR_CODES } from './core/index.js';
export type { PolicyOptions, PolicyMode } from './policy/index.js';
export { loadConfig } from './config/index.js';
export type { Config } from './config/index.js';
export { buildServer, startServer, loadTokens, tokensFrom } from './http/index.js';
export type { HttpServerOptions, StartOptions, TokenSet } from './http/index.js';
// Signing outbound mail (nodemailer plugin): consumes openCensus() or createCensusClient().
export { createSmimePlugin, decideSigning, loadSigner, signerStatus } from './sign/index.js';
export type { SmimePluginOptions, SmimePlugin, SignPolicy, Signer, LoadSignerOptions } from './sign/index.js';
