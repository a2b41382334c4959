/**
 * Does a harvested certificate chain to a trust anchor? pkijs CertificateChainValidationEngine
 * against (1) a configured CA set and (2) the system bundle. Anchors are parsed once and cached.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AppError } from '../core/index.js';
import { pemBlocks } from './cert-info.js';
import type { CertInfo } from './cert-info.js';

/** Debian/Ubuntu system bundle (update-ca-certificates). */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface TrustResult {
  /** The chain builds to an anchor and every certificate in it verifies and is valid at `checkedAt`. */
  readonly trusted: boolean;
  /** Which anchor set: the configured CAs or the system store. */
  readonly anchor: 'configured' | 'system' | null;
  /** Why not trusted (pkijs' message), or null. */
  readonly detail: string | null;
  readonly checkedAt: Date;
}

function parseDer(der: Buffer): pkijs.Certificate | null {
  const asn = asn1js.fromBER(new Uint8Array(der).buffer);
  if (asn.offset === -1) return null;
  try {
    return new pkijs.Certificate({ schema: asn.result });
  } catch {
    /* an odd entry in a bundle must not disable the whole bundle */
    return null;
  }
}

function parseCerts(pemText: string): pkijs.Certificate[] {
  const out: pkijs.Certificate[] = [];
  for (const der of pemBlocks(pemText, ['CERTIFICATE', 'TRUSTED CERTIFICATE'])) {
    const c = parseDer(der);
    if (c) out.push(c);
  }
  return out;
}

/** A distinguished name as OpenSSL prints it, compared case- and whitespace-insensitively. */
function nameKey(name: string): string {
  return name.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Trust anchors indexed by subject name. Parsing every root of the system bundle (~140) with
 * pkijs cost ~0.5-0.9 s of CPU in each process that checked one signature against it (7% of an
 * IMAP backfill of 10k messages, 10% of an import), and pkijs' chain engine compares every
 * anchor it is given: the index reads each anchor's subject with Node's native X509 parser, and
 * only the anchors that can be in a chain's path are parsed with pkijs and handed to it.
 */
interface AnchorStore {
  /** DER of the anchors by subject name. */
  readonly bySubject: ReadonlyMap<string, readonly Buffer[]>;
  /** Entries the native parser could not read: parsed with pkijs up front, always candidates. */
  readonly other: readonly pkijs.Certificate[];
  readonly parsed: Map<string, readonly pkijs.Certificate[]>;
  /** One array per set of candidate names, so the chain verdict cache sees a stable anchor set. */
  readonly sets: Map<string, pkijs.Certificate[]>;
}

function indexAnchors(pemTexts: readonly string[]): AnchorStore {
  const bySubject = new Map<string, Buffer[]>();
  const other: pkijs.Certificate[] = [];
  for (const text of pemTexts) {
    for (const der of pemBlocks(text, ['CERTIFICATE', 'TRUSTED CERTIFICATE'])) {
      let subject: string | null;
      try {
        subject = new X509Certificate(der).subject;
      } catch {
        subject = null;
      }
      if (subject === null) {
        const c = parseDer(der);
        if (c) other.push(c);
        continue;
      }
      const k = nameKey(subject);
      const list = bySubject.get(k);
      if (list) list.push(der);
      else bySubject.set(k, [der]);
    }
  }
  return { bySubject, other, parsed: new Map(), sets: new Map() };
}

/**
 * The anchors that can anchor this chain: a path ends at an anchor whose subject is the issuer
 * of one of the chain's certificates, or at one of the chain's certificates itself (a pinned
 * leaf), so no other anchor can make it validate.
 */
function anchorsFor(store: AnchorStore, chain: readonly CertInfo[]): pkijs.Certificate[] {
  const names = new Set<string>();
  for (const c of chain) {
    names.add(nameKey(c.x509.issuer));
    names.add(nameKey(c.x509.subject));
  }
  const keys = [...names].filter((k) => store.bySubject.has(k)).sort();
  const setKey = keys.join('\u0000');
  let set = store.sets.get(setKey);
  if (!set) {
    set = [...store.other];
    for (const k of keys) {
      let certs = store.parsed.get(k);
      if (!certs) {
        certs = store.bySubject.get(k)!.map(parseDer).filter((c): c is pkijs.Certificate => c !== null);
        store.parsed.set(k, certs);
      }
      set.push(...certs);
    }
    // bounded: a census sees few distinct issuer sets
    if (store.sets.size > 256) store.sets.clear();
    store.sets.set(setKey, set);
  }
  return set;
}

const configuredCache = new Map<string, AnchorStore>();
let systemCache: Promise<AnchorStore> | null = null;

function configuredAnchors(pems: readonly string[]): AnchorStore {
  const key = pems.join('\n');
  let v = configuredCache.get(key);
  if (!v) {
    v = indexAnchors(pems);
    // bounded: configurations are few; a caller passing ever-new sets should pass fewer
    if (configuredCache.size > 16) configuredCache.clear();
    configuredCache.set(key, v);
  }
  return v;
}

function systemAnchors(): Promise<AnchorStore> {
  systemCache ??= readFile(SYSTEM_CA_BUNDLE, 'latin1').then((t) => indexAnchors([t]), () => indexAnchors([]));
  return systemCache;
}

/**
 * Reads CA PEM files for the configured trust set. Throws E_CONFIG naming the file when one
 * is unreadable or holds no certificate (config errors must be loud).
 */
export async function loadTrustedCaPems(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'latin1');
    } catch (e) {
      throw new AppError('E_CONFIG', `cannot read the trusted CA file ${f}`, { cause: e });
    }
    if (parseCerts(text).length === 0) throw new AppError('E_CONFIG', `the trusted CA file ${f} holds no PEM certificate`);
    out.push(text);
  }
  return out;
}

/** Bound on memoised chain verdicts; a census sees few distinct signer chains, and each costs a few KB. */
export const MAX_CACHED_CHAIN_VERDICTS = 10_000;

interface AnchorSet {
  readonly id: number;
  /** Validity period of each anchor (ms), to key verdicts by which anchors are valid at the check date. */
  readonly periods: ReadonlyArray<readonly [number, number]>;
}
const anchorSets = new WeakMap<pkijs.Certificate[], AnchorSet>();
let nextAnchorSetId = 0;
const verdicts = new Map<string, { ok: boolean; detail: string | null }>();

function anchorSet(anchors: pkijs.Certificate[]): AnchorSet {
  let s = anchorSets.get(anchors);
  if (!s) {
    s = { id: nextAnchorSetId++, periods: anchors.map((a) => [a.notBefore.value.getTime(), a.notAfter.value.getTime()] as const) };
    anchorSets.set(anchors, s);
  }
  return s;
}

/**
 * validate(), memoised. pkijs' chain engine costs milliseconds per call (it re-encodes and
 * compares every anchor), and a signer's every message carries the same chain. Its verdict
 * depends only on the certificates and on which of them are within their validity period at
 * the check date, so that is the key: the same chain checked at another date gets the cached
 * verdict only if every certificate's in-period state is the same then.
 */
async function validateCached(leaf: CertInfo, others: readonly CertInfo[], anchors: pkijs.Certificate[], checkDate: Date): Promise<{ ok: boolean; detail: string | null }> {
  const t = checkDate.getTime();
  const set = anchorSet(anchors);
  const inPeriod = (c: CertInfo): string => (c.notBefore.getTime() <= t && t <= c.notAfter.getTime() ? '1' : '0');
  let outOfPeriodAnchors = '';
  for (let i = 0; i < set.periods.length; i++) {
    const [nb, na] = set.periods[i]!;
    if (t < nb || t > na) outOfPeriodAnchors += i + ',';
  }
  const key = `${set.id}|${leaf.fingerprint}${inPeriod(leaf)}|${others.map((c) => c.fingerprint + inPeriod(c)).join(',')}|${outOfPeriodAnchors}`;
  const hit = verdicts.get(key);
  if (hit) return hit;
  const v = await validate(leaf, others, anchors, checkDate);
  if (verdicts.size >= MAX_CACHED_CHAIN_VERDICTS) verdicts.clear();
  verdicts.set(key, v);
  return v;
}

async function validate(leaf: CertInfo, others: readonly CertInfo[], anchors: pkijs.Certificate[], checkDate: Date): Promise<{ ok: boolean; detail: string | null }> {
  if (anchors.length === 0) return { ok: false, detail: 'no trust anchors' };
  // pkijs de-duplicates anchors against the chain and would then pick another certificate as
  // the leaf; a leaf that is itself an anchor (pinned) needs only its validity period checked
  const leafTbs = Buffer.from(leaf.pkijs.tbsView);
  if (anchors.some((a) => Buffer.from(a.tbsView).equals(leafTbs))) {
    const inDate = leaf.notBefore <= checkDate && checkDate <= leaf.notAfter;
    return { ok: inDate, detail: inDate ? null : 'the pinned certificate is not valid at the check date' };
  }
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: anchors,
    // pkijs takes the LAST certificate as the end entity: putting the leaf first would validate
    // an intermediate instead and call any leaf "trusted"
    certs: [...others.map((c) => c.pkijs), leaf.pkijs],
    checkDate,
  });
  try {
    const r = await engine.verify();
    return { ok: r.result === true, detail: r.result ? null : (r.resultMessage ?? 'chain does not validate') };
  } catch (e) {
    const err = e as { resultMessage?: string; message?: string };
    return { ok: false, detail: err.resultMessage ?? err.message ?? 'chain does not validate' };
  }
}

/** Evaluates trust: the configured CAs first, then (if enabled) the system store. */
export async function evaluateTrust(
  leaf: CertInfo,
  others: readonly CertInfo[],
  opts: { trustedCaPems?: readonly string[]; useSystemTrust?: boolean; checkDate: Date },
): Promise<TrustResult> {
  let detail: string | null = null;
  if (opts.trustedCaPems && opts.trustedCaPems.length > 0) {
    const r = await validateCached(leaf, others, anchorsFor(configuredAnchors(opts.trustedCaPems), [leaf, ...others]), opts.checkDate);
    if (r.ok) return { trusted: true, anchor: 'configured', detail: null, checkedAt: opts.checkDate };
    detail = r.detail;
  }
  if (opts.useSystemTrust) {
    const r = await validateCached(leaf, others, anchorsFor(await systemAnchors(), [leaf, ...others]), opts.checkDate);
    if (r.ok) return { trusted: true, anchor: 'system', detail: null, checkedAt: opts.checkDate };
    detail = r.detail ?? detail;
  }
  return { trusted: false, anchor: null, detail: detail ?? 'no trust anchors configured', checkedAt: opts.checkDate };
}
