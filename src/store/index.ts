export type {
  CensusStore, StoreOptions, ObservationRow, StoredObservation, VerdictColumns, CertificateRow, NewCertificate, Continuity,
  CachedDecision, ClientIdentity, ClientRow, Checkpoint, CheckpointInfo, ExportFilter, Stats, UnknownFingerprint, LookupRow,
  LookupOptions, DecisionFields, StaleDecisions, IngestItem, IngestFold, IngestBatch, IngestOutcome, LeaseClaim, Lease, LeaseKey, RecomputeJob,
  RecomputeResult, StoreHealth, EmbeddedLookups, CopyTable, RowValue, RawRow,
} from './contract.js';
export { EXPORT_COLUMNS, clientKeyOf, monthOf, COPY_TABLES, COPY_KEYS } from './contract.js';
export { openStore, openSqliteStore, isPostgresUrl, redactDbUrl } from './open.js';
export { seedSynthetic, growByCopies, syntheticAddress, SYNTHETIC_EXPIRED_SHARE, MAX_SYNTHETIC_ADDRESSES, COPY_ADDRESS_PREFIX, type SyntheticCensus } from './seed.js';
