export { createImapClient, connectClient, toImapError, isTransient } from './client.js';
export type { ClientOptions } from './client.js';
export { examineFolder, readHeaderBatches, imapSourceKey } from './folder.js';
export type { FolderInfo, HeaderBatch, ReadOptions } from './folder.js';
export { countAfter, watchForChanges } from './watch.js';
export type { WatchOptions, WatchResult } from './watch.js';
