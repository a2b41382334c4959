import { AppError, isAppError, type SourceItem } from '../core/index.js';
import { readFileSource } from '../source/file/index.js';
import type { AppContext } from './context.js';
import { addCounts, emptyCounts, type IngestCounts } from './ingest.js';

/** Messages per transaction: large enough to amortise the commit, small enough to bound memory. */
export const IMPORT_BATCH = 2000;

export interface ImportProgress {
  path: string;
  counts: IngestCounts;
}

/** Imports mail files (mbox, Maildir, .eml folders or files) into the store. */
export async function importPaths(ctx: AppContext, paths: readonly string[], onProgress?: (p: ImportProgress) => void): Promise<IngestCounts> {
  const total = emptyCounts();
  for (const path of paths) {
    let batch: SourceItem[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      addCounts(total, await ctx.pipeline.ingestBatchAsync(batch));
      batch = [];
      onProgress?.({ path, counts: total });
    };
    try {
      for await (const item of readFileSource(path)) {
        batch.push(item);
        if (batch.length >= IMPORT_BATCH) await flush();
      }
      await flush();
    } catch (e) {
      // Say what is already committed: a full disk after 1,800 stored messages must not read as "nothing happened".
      if (isAppError(e) && e.code === 'E_DB') {
        const skipped = Object.values(total.skipped).reduce((a, b) => a + (b ?? 0), 0);
        throw new AppError('E_DB', `${e.message}; committed before the failure: read ${total.read}, stored ${total.stored}, duplicates ${total.duplicates}, skipped ${skipped}`, { cause: e });
      }
      throw e;
    }
    ctx.logger.info({ component: 'import', read: total.read, stored: total.stored, duplicates: total.duplicates, skipped: total.skipped }, 'import finished');
  }
  return total;
}

/** Ingests items from any async source in batches (used by import and by tests). */
export async function ingestAll(ctx: AppContext, items: AsyncIterable<SourceItem> | Iterable<SourceItem>, batchSize = IMPORT_BATCH): Promise<IngestCounts> {
  const total = emptyCounts();
  let batch: SourceItem[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= batchSize) {
      addCounts(total, await ctx.pipeline.ingestBatchAsync(batch));
      batch = [];
    }
  }
  if (batch.length) addCounts(total, await ctx.pipeline.ingestBatchAsync(batch));
  return total;
}
