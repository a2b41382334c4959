/**
 * S/MIME: key + message in, signed message out; certificate harvesting and verification.
 * Pure building blocks: no store, no network; app/ wires them into ingest and sending.
 */
export { loadSigner, signerStatus, EXPIRY_WARNING_DAYS, MAX_SIGN_MESSAGE_BYTES } from './signer.js';
export type { Signer, SignerStatus, SignerMetrics, LoadSignerOptions, SignLogger } from './signer.js';
export type { KeyMaterialInput } from './key-material.js';
export type { CertInfo, KeyAlgorithm } from './cert-info.js';
export { harvestFromMessage, harvestFromParts, isFatal, MAX_SIGNED_PART_BYTES, MAX_SIGNATURE_BYTES, MAX_HARVEST_MESSAGE_BYTES } from './harvest.js';
export type { HarvestedCert, HarvestResult, HarvestOptions } from './harvest.js';
export type { HarvestWarning, HarvestWarningCode, SmimeCapability } from './verify-cms.js';
export { FATAL_WARNINGS } from './verify-cms.js';
export { loadTrustedCaPems, SYSTEM_CA_BUNDLE } from './trust.js';
export type { TrustResult } from './trust.js';
export { compareCertificates } from './continuity.js';
export type { ContinuityVerdict, ContinuityCert } from './continuity.js';
export { createSmimePlugin, createSmimeSignStream, decideSigning, SIGN_POLICIES } from './nodemailer.js';
export type { CensusRecommender, SignPolicy, SmimePluginOptions, SmimePlugin, SmimePluginMetrics } from './nodemailer.js';
