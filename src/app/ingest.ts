import { createHash } from 'node:crypto';
import type { ParsedMessage, SkipReason, SourceItem, Verdict } from '../core/index.js';
import { FINGERPRINT_FIELDS } from '../classify/index.js';
import { assess, signatureFacts } from './enrich.js';
import { parseMessage, effectiveDate, dmarcResult, type FingerprintSelector } from '../parse/index.js';
import { applyObservation, evidenceClass, recommend, type ObservationFacts, type PolicyOptions } from '../policy/index.js';
import type { Checkpoint, ClientIdentity, IngestFold, IngestItem, LeaseClaim, ObservationRow } from '../store/index.js';
import type { Config } from '../config/index.js';
import type { RuleSet } from '../classify/index.js';
import type { CensusStore } from '../store/index.js';
import type { Logger } from './logger.js';
import type { HarvestResult } from '../sign/index.js';
import { certificateOf, continuityOf, harvestItems, trustedCas, type Harvests } from './harvest.js';

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
  ingestBatch(items: readonly SourceItem[], checkpoint?: Checkpoint, harvests?: Harvests, lease?: LeaseClaim): Promise<IngestCounts>;
  /**
   * ingestBatch after verifying the signatures of S/MIME items and harvesting their
   * certificates; batches commit strictly in call order.
   */
  ingestBatchAsync(items: readonly SourceItem[], checkpoint?: Checkpoint, lease?: LeaseClaim): Promise<IngestCounts>;
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

/**
 * A copy of `s` that holds no reference to the text it was cut from. parse decodes a message's
 * whole header block into one string and its values (the From address, the Message-ID, the
 * regex groups classify fills product/version/platform from) are V8 slices of it, so an
 * observation row that keeps one of them keeps the whole block — several KB per message — alive
 * until the batch commits, and the address states and client tallies the store holds through the
 * batch keep them too. Each young-generation collection then copied 2,000 header blocks' worth of
 * live data (issue 14: with these copies the import bench's full ingest round spent 18% less in
 * GC pauses and ran 7% faster). Concatenation then slice() makes V8 flatten a new string first, so the
 * result points into that copy only; short strings (under 13 characters) are copied by slice()
 * anyway and are returned as they are.
 */
export function detached<T extends string | null>(s: T): T {
  return (s !== null && s.length >= 13 ? (' ' + s).slice(1) : s) as T;
}

/** classify's note on a fingerprint fresh from parse: its Received values are reduced already (receivedHop ran once, in parse). */
const FROM_PARSE = { receivedReduced: true } as const;

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

/** The verdict columns of an observation row (recompute; ingest writes the same columns in its row literal). */
export function verdictColumns(v: Verdict, authenticated: boolean | null, at: number) {
  const facts = factsOf(v, at, authenticated);
  return {
    family: v.family,
    kind: v.kind,
    product: v.product,
    version: v.version,
    platform: v.platform,
    smime: v.smime,
    confidence: v.confidence,
    ruleId: v.ruleId,
    warnings: warningsColumn(v),
    candidates: candidatesColumn(v),
    evidence: evidenceClass(facts) === 'none' ? 0 : 1,
  };
}

/** The verdict's warnings as stored. Most verdicts carry none: the literal spares a JSON.stringify per message. */
function warningsColumn(v: Verdict): string {
  return v.warnings.length === 0 ? '[]' : JSON.stringify(v.warnings);
}

function candidatesColumn(v: Verdict): string | null {
  return v.candidates && v.candidates.length ? JSON.stringify(v.candidates) : null;
}

/** The client an observation counts for in its address's client list. */
export function clientOf(row: Pick<ObservationRow, 'family' | 'product' | 'version' | 'platform'>, facts: ObservationFacts): ClientIdentity {
  return { family: row.family, product: row.product, version: row.version, platform: row.platform, smime: facts.smime };
}

/** Policy and key continuity as the pure functions the store runs inside its transaction. */
export function ingestFold(policy: PolicyOptions, now: number, erasureHash: (address: string) => string, messageErasureHash?: (messageId: string) => string): IngestFold<ObservationFacts> {
  return {
    apply: applyObservation,
    decide: (state) => recommend(state, now, policy),
    continuity: continuityOf,
    erasureHash,
    ...(messageErasureHash ? { messageErasureHash } : {}),
  };
}

/** A signed message that parse accepted, waiting for its harvest before classify. */
interface AwaitingHarvest {
  /** Its place in the batch: the store folds messages in source order. */
  readonly at: number;
  readonly item: SourceItem;
  readonly message: ParsedMessage;
}

/**
 * A batch after parse: its counts so far (read, skipped), each accepted message's store item in
 * source order, and the signed ones still to classify once harvested (their slots are empty).
 * Every other message is classified as soon as it is parsed, so the batch keeps no parsed
 * message (fields, decoded values, the fingerprint object) beyond its own step: holding 2,000 of
 * them until the batch ended pushed them out of the young generation and cost old-generation
 * collections (GC was 15% of an import's profile).
 */
interface ParsedBatch {
  readonly counts: IngestCounts;
  readonly now: number;
  readonly prepared: Array<IngestItem<ObservationFacts> | undefined>;
  readonly awaiting: readonly AwaitingHarvest[];
}

/** What the pipeline needs from the app, named here so that ingest does not import the composition root (context.ts). */
export interface PipelineDeps {
  readonly config: Config;
  readonly store: CensusStore;
  readonly logger: Logger;
  readonly rules: RuleSet;
  erasureHash(address: string): string;
  messageErasureHash(messageId: string): string;
}

export function createPipeline(ctx: PipelineDeps): Pipeline {
  const { store, config } = ctx;
  const rules = ctx.rules;
  const parseOptions = { fingerprint: fingerprintSelector(), ownDomains: config.ownDomains };
  const policy = config.policy;

  /** Classify + enrich one parsed message into what the store folds and writes (pure). */
  const prepare = (item: SourceItem, m: ParsedMessage, harvest: HarvestResult | undefined, now: number): IngestItem<ObservationFacts> => {
    const at = effectiveDate(m.headerDate, item.receivedAt, new Date(now)).getTime();
    const authenticated = dmarcResult(m.fields, config.trustedAuthservId, m.from.slice(m.from.lastIndexOf('@') + 1));
    // Classify + enrich in one step, the same one recompute runs (app/enrich.ts).
    const verdict = assess(rules, m.fingerprint, { smimeClaim: m.smime, signature: harvest ? signatureFacts(harvest) : null, authenticated }, FROM_PARSE);
    // Everything below outlives the message's own step (the row until commit, the state and the
    // client tally through the batch): its strings must not pin the header block (detached).
    verdict.product = detached(verdict.product);
    verdict.version = detached(verdict.version);
    verdict.platform = detached(verdict.platform);
    const messageId = m.messageId !== null ? detached(m.messageId) : 'sha256:' + createHash('sha256').update(item.headerBytes).digest('hex');
    const facts = factsOf(verdict, at, authenticated);
    const evidence = evidenceClass(facts);
    // verdictColumns' columns written out in one literal: the spread of its object cost an
    // allocation and a copy per message (the row's shape and values are the same).
    const observation: ObservationRow = {
      sourceKey: item.sourceKey,
      address: detached(m.from),
      messageId,
      effectiveAt: at,
      receivedAt: item.receivedAt ? item.receivedAt.getTime() : null,
      fingerprint: JSON.stringify(m.fingerprint),
      family: verdict.family,
      kind: verdict.kind,
      product: verdict.product,
      version: verdict.version,
      platform: verdict.platform,
      smime: verdict.smime,
      confidence: verdict.confidence,
      ruleId: verdict.ruleId,
      warnings: warningsColumn(verdict),
      candidates: candidatesColumn(verdict),
      evidence: evidence === 'none' ? 0 : 1,
      smimeMessage: m.smime,
      authenticated: authenticated === null ? null : authenticated ? 1 : 0,
      createdAt: now,
    };
    return {
      observation,
      facts,
      client: clientOf(observation, facts),
      signable: evidence === 'verify',
      ...(harvest ? { certificate: certificateOf(observation.address, harvest) } : {}),
    };
  };

  /**
   * Parse, once per message: its address is the address harvest, classify and the store use.
   * A message whose harvest is known (none needed, or given) is classified right away; with
   * `defer`, signed messages wait in `awaiting` for harvestItems.
   */
  const parseBatch = (items: readonly SourceItem[], harvests: Harvests | undefined, defer: boolean): ParsedBatch => {
    const counts = emptyCounts();
    const now = Date.now();
    const skip = (r: SkipReason): void => {
      counts.skipped[r] = (counts.skipped[r] ?? 0) + 1;
    };
    const prepared: Array<IngestItem<ObservationFacts> | undefined> = [];
    const awaiting: AwaitingHarvest[] = [];
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
      if (defer && item.smimeBytes) {
        awaiting.push({ at: prepared.length, item, message: parsed.message });
        prepared.push(undefined);
      } else prepared.push(prepare(item, parsed.message, harvests?.get(item.sourceKey), now));
    }
    return { counts, now, prepared, awaiting };
  };

  /** Policy and store in one transaction (every slot of the batch filled). */
  const commit = async (batch: ParsedBatch, checkpoint: Checkpoint | undefined, lease: LeaseClaim | undefined): Promise<IngestCounts> => {
    const { counts, now } = batch;
    const c: Record<string, number> = { read: counts.read };
    for (const [k, v] of Object.entries(counts.skipped)) c[`skipped:${k}`] = v ?? 0;
    const items = batch.prepared as Array<IngestItem<ObservationFacts>>;
    // One atomic unit: observations, states, aggregates, certificates, counters, checkpoint;
    // the erasure check and the lease check run inside it.
    const out = await store.ingestBatch(
      { items, checkpoint, lease, counters: c, now },
      ingestFold(policy, now, (a) => ctx.erasureHash(a), (id) => ctx.messageErasureHash(id)),
    );
    counts.stored = out.stored;
    counts.duplicates = out.duplicates;
    if (out.erased) counts.skipped.erased = (counts.skipped.erased ?? 0) + out.erased;
    return counts;
  };

  let cas: Promise<string[]> | undefined;
  // Async batches commit strictly in call order: a later batch's checkpoint must never be
  // committed before an earlier batch (a crash in between would skip the earlier one).
  let tail: Promise<unknown> = Promise.resolve();
  const pipeline: Pipeline = {
    ingestBatchAsync(items, checkpoint, lease) {
      const run = tail.then(async () => {
        const batch = parseBatch(items, undefined, true);
        // Harvest after parse, with parse's address: the certificate must be the sender's as
        // the census knows the sender, not as a second reading of the From header would have it.
        const signed = batch.awaiting;
        if (signed.length) {
          const harvests = await harvestItems(ctx, signed.map((p) => ({ sourceKey: p.item.sourceKey, smimeBytes: p.item.smimeBytes!, from: p.message.from })), await (cas ??= trustedCas(ctx)));
          for (const p of signed) batch.prepared[p.at] = prepare(p.item, p.message, harvests.get(p.item.sourceKey), batch.now);
        }
        return commit(batch, checkpoint, lease);
      });
      tail = run.catch(() => undefined);
      return run;
    },
    ingestBatch(items, checkpoint, harvests, lease) {
      return commit(parseBatch(items, harvests, false), checkpoint, lease);
    },
  };
  return pipeline;
}
