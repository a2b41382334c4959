export { openApp } from './context.js';
export type { AppContext, OpenAppOptions } from './context.js';
export { createLogger, deferredLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { createPipeline, emptyCounts, addCounts, fingerprintSelector, STORED_FINGERPRINT_FIELDS } from './ingest.js';
export type { IngestCounts, Pipeline, Checkpoint } from './ingest.js';
export { importPaths, importStream, ingestAll, ingestPushed, IMPORT_BATCH } from './import.js';
export { lookupInCensus, lookupOne, lookupMany, lookupOneSync, lookupCheckedSync, lookupManySync, lookupResult, checkAddress, refreshStale } from './lookup.js';
export { censusStats } from './stats.js';
export type { LookupResult, ClientSummary } from './lookup.js';
export { LookupResultSchema, ClientSummarySchema } from './lookup.js';
export { exportCensus, exportCsv, writeCsv, parseSince, CSV_HEADER } from './export.js';
export { classifyLines, classifyLine, classifyStream } from './classify-lines.js';
export { openCensusStore, openCensusAt, SERVER_STORE_OPTIONS } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
export { recompute } from './recompute.js';
export type { RecomputeResult } from './recompute.js';
export { forget, show } from './privacy.js';
export { copyCensus, copyCensusBetween, copyErasureKey, COPY_PAGE_ROWS } from './copy.js';
export type { CopyProgress, CopyReport, CopyOptions, CopyBetween, CopyBetweenReport } from './copy.js';
export type { ForgetResult } from './privacy.js';
// Not re-exported: check-accounts loads the IMAP client (imapflow, ~60 modules), and every process
// that imports this index (`import -` once per message from an MTA) would load it. `config check`
// imports it directly.
export type { AccountCheck } from './check-accounts.js';
