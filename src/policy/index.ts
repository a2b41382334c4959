export { applyObservation, evidenceClass, clientLabel, MIN_EVIDENCE_CONFIDENCE } from './state.js';
export type { AddressState, ObservationFacts, EvidenceClass } from './state.js';
export { recommend } from './recommend.js';
export type { PolicyMode, PolicyOptions, Decision } from './recommend.js';
