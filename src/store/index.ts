export { Store, EXPORT_COLUMNS, clientKeyOf, monthOf } from './store.js';
export type { ObservationRow, StoredObservation, ClientRow, CertificateRow, CachedDecision, Checkpoint, ExportFilter, Stats, UnknownFingerprint } from './store.js';
export { openDatabase } from './open.js';
export type { SqliteDb, OpenOptions } from './open.js';
