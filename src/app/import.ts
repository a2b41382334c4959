import { AppError, isAppError, MAX_BATCH_BYTES, sourceItemBytes, type SourceItem } from '../core/index.js';
import type { Readable } from 'node:stream';
import { readFileSource, readMbox } from '../source/file/index.js';
import { pushedItem, readPushedMessage, type PushOrigin } from '../source/push.js';
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
    try {
      await ingestAll(ctx, readFileSource(path), {
        onBatch: (c) => {
          addCounts(total, c);
          onProgress?.({ path, counts: total });
        },
      });
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

/**
 * Ingests items from any source in batches, each committed before the next is read. A batch
 * closes at `batchSize` messages or before an item that would take it past MAX_BATCH_BYTES
 * (signed messages are kept whole for harvesting, up to 27 MiB each), so memory is bounded by
 * bytes, not only by count.
 */
export async function ingestAll(
  ctx: AppContext,
  items: AsyncIterable<SourceItem> | Iterable<SourceItem>,
  o: { batchSize?: number; onBatch?: (counts: IngestCounts) => void } = {},
): Promise<IngestCounts> {
  const batchSize = o.batchSize ?? IMPORT_BATCH;
  const total = emptyCounts();
  let batch: SourceItem[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const c = await ctx.pipeline.ingestBatchAsync(batch);
    batch = [];
    bytes = 0;
    addCounts(total, c);
    o.onBatch?.(c);
  };
  for await (const item of items) {
    const n = sourceItemBytes(item);
    if (batch.length > 0 && bytes + n > MAX_BATCH_BYTES) await flush();
    batch.push(item);
    bytes += n;
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return total;
}

/**
 * Ingests one message pushed in whole (POST /v1/messages, `import -`): its header block, and
 * for S/MIME the message itself (`complete: false` when it was cut at the size limit).
 */
export function ingestPushed(ctx: AppContext, bytes: Uint8Array, origin: PushOrigin, o: { complete?: boolean } = {}): Promise<IngestCounts> {
  return ingestAll(ctx, [pushedItem(bytes, origin, o)]);
}

/** Imports what an MTA pipes in: one message, or with `mbox` an mbox; a message is read whole up to `maxMessageBytes`. */
export async function importStream(ctx: AppContext, stream: Readable, o: { mbox?: boolean; maxMessageBytes: number }): Promise<IngestCounts> {
  if (o.mbox) return ingestAll(ctx, readMbox('-', 'stdin', stream));
  const { bytes, truncated } = await readPushedMessage(stream, o.maxMessageBytes);
  return ingestPushed(ctx, bytes, 'stdin', { complete: !truncated });
}
