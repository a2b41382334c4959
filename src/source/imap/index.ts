export { ImapSession, configuredCredentials } from './session.js';
export type { CredentialsProvider, ImapCredentials, SessionOptions, SessionPoll, SyncOptions, FolderSync, WaitOptions } from './session.js';
export { ImapError, toImapError, isTransient } from './errors.js';
export type { ImapErrorCode } from './errors.js';
export { imapflowLogger, errorSummary } from './log.js';
export { probeOnce, waitUntilReachable, abortableSleep } from './probe.js';
export { imapSourceKey } from './folder.js';
export type { FolderInfo, HeaderBatch } from './folder.js';
export type { WatchResult } from './watch.js';
