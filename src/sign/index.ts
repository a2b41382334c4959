/**
 * S/MIME: key + message in, signed message out; certificate harvesting and verification.
 * Pure building blocks: no store, no network; app/ wires them into ingest and sending.
 */
export { loadSigner, signerStatus, EXPIRY_WARNING_DAYS, MAX_SIGN_MESSAGE_BYTES } from './signer.js';
export type { Signer, SignerStatus, SignerMetrics, LoadSignerOptions, SignLogger } from './signer.js';
export type { KeyMaterialInput } from './key-material.js';
export type { CertInfo, KeyAlgorithm } from './cert-info.js';
