import { createHash } from 'node:crypto';
import type { SkipReason, SourceItem, Verdict } from '../core/index.js';
import { classify, FINGERPRINT_FIELDS } from '../classify/index.js';
import { parseMessage, effectiveDate, trustedDate, dmarcResult, type FingerprintSelector } from '../parse/index.js';
import { applyObservation, evidenceClass, recommend, type AddressState, type ObservationFacts } from '../policy/index.js';
import { clientKeyOf, monthOf, type Checkpoint, type ClientRow, type ObservationRow, type Store } from '../store/index.js';
import type { AppContext } from './context.js';
import { harvestItems, storeHarvest, trustedCas, type Harvests } from './harvest.js';
import type { HarvestResult } from '../sign/index.js';

export interface IngestCounts {
  read: number;
  stored: number;
  duplicates: number;
  skipped: Partial<Record<SkipReason, number>>;
}

export type { Checkpoint };

export function emptyCounts(): IngestCounts {
  return { read: 0, stored: 0, duplicates: 0, skipped: {} };
}

export function addCounts(into: IngestCounts, c: IngestCounts): IngestCounts {
  into.read += c.read;
  into.stored += c.stored;
  into.duplicates += c.duplicates;
  for (const [k, v] of Object.entries(c.skipped)) into.skipped[k as SkipReason] = (into.skipped[k as SkipReason] ?? 0) + (v ?? 0);
  return into;
}

export interface Pipeline {
  /**
   * Parses, classifies and stores one batch in ONE transaction, together with the checkpoint
   * when given: a crash leaves either all of the batch and its checkpoint, or none of it.
   * Idempotent on source key and on Message-ID + address.
   */
  ingestBatch(items: readonly SourceItem[], checkpoint?: Checkpoint, harvests?: Harvests): IngestCounts;
  /** ingestBatch after verifying the signatures of S/MIME items and harvesting their certificates. */
  ingestBatchAsync(items: readonly SourceItem[], checkpoint?: Checkpoint): Promise<IngestCounts>;
}

/**
 * The fields stored as an observation's fingerprint: what classify looks at, plus the screening
 * and provenance fields (Auto-Submitted, Precedence, List-Id, top-level Content-Type), so that
 * changed rules can use them later. Authentication-Results is read (DMARC, when a trusted
 * authserv-id is configured) but its outcome is stored in `authenticated`, not the raw fields:
 * they are often longer than everything else together.
 */
export const STORED_FINGERPRINT_FIELDS: readonly string[] = [...new Set([...FINGERPRINT_FIELDS, 'content-type', 'mime-version', 'auto-submitted', 'precedence', 'list-id', 'x-ms-has-attach', 'x-microsoft-original-message-id', 'x-gm-message-state'])];

/** Builds the selector parse uses to keep the fingerprint fields. */
export function fingerprintSelector(fields: readonly string[] = STORED_FINGERPRINT_FIELDS): FingerprintSelector {
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const f of fields) {
    const n = f.toLowerCase();
    if (n.endsWith('*')) prefixes.push(n.slice(0, -1));
    else names.add(n);
  }
  return { names, prefixes };
}

/** Verdict -> the facts the policy folds into the address state. */
export function factsOf(v: Verdict, at: number, authenticated: boolean | null): ObservationFacts {
  return {
    at,
    family: v.family,
    kind: v.kind,
    product: v.product,
    version: v.version,
    smime: v.smime,
    confidence: v.confidence,
    warnings: v.warnings,
    smimeMessage: v.smimeMessage ?? null,
    authenticated,
  };
}

/** The verdict columns of an observation row. */
export function verdictColumns(v: Verdict, authenticated: boolean | null, at: number) {
  return {
    family: v.family,
    kind: v.kind,
    product: v.product,
    version: v.version,
    platform: v.platform,
    smime: v.smime,
    confidence: v.confidence,
    ruleId: v.ruleId,
    warnings: JSON.stringify(v.warnings),
    candidates: v.candidates && v.candidates.length ? JSON.stringify(v.candidates) : null,
    evidence: evidenceClass(factsOf(v, at, authenticated)) === 'none' ? 0 : 1,
  };
}

/**
 * Per-client and per-month counts of one batch, written once per distinct key instead of once
 * per message (a backfill sees the same address and client many times in a batch).
 */
export class BatchTally {
  private readonly clients = new Map<string, { address: string; client: Omit<ClientRow, 'count' | 'lastSeen'>; n: number; at: number }>();
  private readonly months = new Map<string, { address: string; month: string; n: number; signable: boolean }>();

  add(row: Pick<ObservationRow, 'address' | 'family' | 'product' | 'version' | 'platform' | 'effectiveAt'>, facts: ObservationFacts): void {
    const client = { family: row.family, product: row.product, version: row.version, platform: row.platform, smime: facts.smime };
    const ck = row.address + '\u001e' + clientKeyOf(client);
    const c = this.clients.get(ck);
    if (c) {
      c.n++;
      c.at = Math.max(c.at, row.effectiveAt);
    } else this.clients.set(ck, { address: row.address, client, n: 1, at: row.effectiveAt });
    const month = monthOf(row.effectiveAt);
    const mk = row.address + '\u001e' + month;
    const signable = evidenceClass(facts) === 'verify';
    const m = this.months.get(mk);
    if (m) {
      m.n++;
      m.signable ||= signable;
    } else this.months.set(mk, { address: row.address, month, n: 1, signable });
  }

  flush(store: Store): void {
    for (const c of this.clients.values()) store.bumpClient(c.address, c.client, c.at, c.n);
    for (const m of this.months.values()) store.bumpMonth(m.address, m.month, m.signable, m.n);
    this.clients.clear();
    this.months.clear();
  }
}

/**
 * A check for erased addresses' mail, valid within one transaction: a message is erased when its
 * identity (Message-ID or header hash) was recorded at erasure, or when its own trusted Date is
 * not later than the erasure. A missing, absurd or future Date never lets old mail back in, and
 * neither does a file time (a copied .eml) nor the time of reading.
 */
function erasureCheck(ctx: AppContext, store: Store): (address: string, messageId: string, dated: number | null) => boolean {
  const erasedAt = new Map<string, number | null>();
  return (address, messageId, dated) => {
    let at = erasedAt.get(address);
    if (at === undefined) {
      at = store.erasedAt(ctx.erasureHash(address));
      erasedAt.set(address, at);
    }
    if (at === null) return false;
    return store.isMessageErased(ctx.messageErasureHash(messageId)) || (dated !== null && dated <= at);
  };
}

export function createPipeline(ctx: AppContext): Pipeline {
  const { store, config } = ctx;
  const rules = ctx.rules;
  const parseOptions = { fingerprint: fingerprintSelector(), ownDomains: config.ownDomains };
  const policy = config.policy;

  let cas: Promise<string[]> | undefined;
  // Async batches commit strictly in call order: a later batch's checkpoint must never be
  // committed before an earlier batch (a crash in between would skip the earlier one).
  let tail: Promise<unknown> = Promise.resolve();
  const pipeline: Pipeline = {
    ingestBatchAsync(items, checkpoint) {
      const run = tail.then(async () => {
        const harvests = items.some((i) => i.smimeBytes) ? await harvestItems(ctx, items, await (cas ??= trustedCas(ctx))) : undefined;
        return pipeline.ingestBatch(items, checkpoint, harvests);
      });
      tail = run.catch(() => undefined);
      return run;
    },
    ingestBatch(items, checkpoint, harvests) {
      const counts = emptyCounts();
      const now = Date.now();
      const skip = (r: SkipReason): void => {
        counts.skipped[r] = (counts.skipped[r] ?? 0) + 1;
      };
      // Pure work (parse + classify) happens outside the write transaction to keep it short.
      const prepared: Array<{ row: ObservationRow; facts: ObservationFacts; harvest: HarvestResult | undefined; dated: number | null }> = [];
      for (const item of items) {
        counts.read++;
        if (item.skip) {
          skip(item.skip.reason);
          ctx.logger.debug({ sourceKey: item.sourceKey, reason: item.skip.reason, detail: item.skip.detail }, 'message skipped');
          continue;
        }
        const parsed = parseMessage(item.headerBytes, parseOptions);
        if (!parsed.ok) {
          skip(parsed.reason);
          ctx.logger.debug({ sourceKey: item.sourceKey, reason: parsed.reason, detail: parsed.detail }, 'message skipped');
          continue;
        }
        const m = parsed.message;
        const at = effectiveDate(m.headerDate, item.receivedAt, new Date(now)).getTime();
        const verdict = classify(rules, m.fingerprint, { smimeMessage: m.smime });
        const harvest = harvests?.get(item.sourceKey);
        if (harvest) for (const w of harvest.warnings) verdict.warnings.push(`smime-cert:${w.code}`);
        const authenticated = dmarcResult(m.fields, config.trustedAuthservId, m.from.slice(m.from.lastIndexOf('@') + 1));
        if (authenticated === false) verdict.warnings.push('unauthenticated:dmarc-fail');
        const messageId = m.messageId ?? 'sha256:' + createHash('sha256').update(item.headerBytes).digest('hex');
        prepared.push({
          row: {
            sourceKey: item.sourceKey,
            address: m.from,
            messageId,
            effectiveAt: at,
            receivedAt: item.receivedAt ? item.receivedAt.getTime() : null,
            fingerprint: JSON.stringify(m.fingerprint),
            ...verdictColumns(verdict, authenticated, at),
            smimeMessage: m.smime,
            authenticated: authenticated === null ? null : authenticated ? 1 : 0,
            createdAt: now,
          },
          facts: factsOf(verdict, at, authenticated),
          harvest,
          dated: trustedDate(m.headerDate, now),
        });
      }
      store.transaction(() => {
        // The erasure check runs inside the write transaction: a `forget` committed by another
        // process while this batch was parsed is seen here, and one after it deletes what we wrote.
        const erased = store.hasErasures() ? erasureCheck(ctx, store) : null;
        // States are read once and written once per address and batch (a customer's messages
        // often arrive together, and a backfill sees each address many times).
        const states = new Map<string, AddressState>();
        const tally = new BatchTally();
        const certCounts: Record<string, number> = {};
        for (const { row, facts, harvest, dated } of prepared) {
          if (erased?.(row.address, row.messageId, dated)) {
            skip('erased');
            continue;
          }
          if (!store.insertObservation(row)) {
            counts.duplicates++;
            continue;
          }
          counts.stored++;
          const prev = states.get(row.address) ?? store.getState(row.address);
          const state = applyObservation(prev, row.address, facts);
          states.set(row.address, state);
          if (harvest) {
            const continuity = storeHarvest(store, row.address, harvest, row.effectiveAt);
            const key = continuity ? `certificates:${continuity}` : 'certificates:rejected';
            certCounts[key] = (certCounts[key] ?? 0) + 1;
            // Key continuity: trust on first use, alert on change (shown by lookup, API, metrics).
            if (continuity === 'key-changed') state.keyChanged = true;
          }
          tally.add(row, facts);
        }
        tally.flush(store);
        for (const state of states.values()) store.putState({ ...state, ...recommend(state, now, policy) });
        const c: Record<string, number> = { read: counts.read, stored: counts.stored, duplicates: counts.duplicates };
        for (const [k, v] of Object.entries(counts.skipped)) c[`skipped:${k}`] = v ?? 0;
        Object.assign(c, certCounts);
        store.addCounters(c);
        if (checkpoint) store.setCheckpoint(checkpoint, now);
      });
      return counts;
    },
  };
  return pipeline;
}
