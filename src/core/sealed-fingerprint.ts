/**
 * A fingerprint built by the pipeline's own builders (parse's parseMessage, classify's
 * fingerprintFromFields), sealed with what classify's per-value cleaning would find in it, so
 * classify can skip that cleaning (issue 15). The facts are computed here from the values
 * themselves and the fingerprint is frozen, so a seal can only ever describe the object it is on:
 * a fingerprint from anywhere else (a library caller, the HTTP API, JSON read back from the store)
 * is not in the WeakMap, whatever its contents, and is cleaned in full.
 */
import { MAX_FINGERPRINT_VALUE_CHARS } from './limits.js';

/** C0 controls except tab, and DEL: in a header value they mean injection or a broken generator (tab is legal in unfolded values). */
export const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;

/** What classify's cleaning (classify/engine.ts Fields.load) would find in a sealed fingerprint. */
export interface FingerprintFacts {
  /** A value, as far as MAX_FINGERPRINT_VALUE_CHARS, holds a control character. */
  readonly injected: boolean;
  /** The fields with a value the cleaning changes: longer than MAX_FINGERPRINT_VALUE_CHARS, or a blank at either end. */
  readonly untidy: readonly string[];
  /** The fields with a value holding a tab, which folding changes (classify folds only the fields a rule reads). */
  readonly tabbed: readonly string[];
}

const FACTS = new WeakMap<object, FingerprintFacts>();
const NONE: readonly string[] = Object.freeze([]);
const UPPER = /[A-Z]/;

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Freezes `fp` (and its value arrays) and records its facts. Only for a fingerprint whose Received
 * values are receivedHop's reductions (core/received.ts), as both builders make them. A name that is
 * not lower-case or a value that is not a string leaves it unsealed (classify then cleans it in full).
 */
export function sealFingerprint<T extends Record<string, string[]>>(fp: T): T {
  let injected = false;
  let untidy: string[] | null = null;
  let tabbed: string[] | null = null;
  for (const name in fp) {
    if (UPPER.test(name)) return fp;
    const list = fp[name];
    if (!Array.isArray(list) || list.length === 0) return fp;
    let tidy = true;
    let tab = false;
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as unknown;
      if (typeof v !== 'string') return fp;
      const long = v.length > MAX_FINGERPRINT_VALUE_CHARS;
      if (!injected && CONTROL_CHARS.test(long ? v.slice(0, MAX_FINGERPRINT_VALUE_CHARS) : v)) injected = true;
      if (long || (v.length > 0 && (isBlank(v.charCodeAt(0)) || isBlank(v.charCodeAt(v.length - 1))))) tidy = false;
      if (!tab && v.indexOf('\t') >= 0) tab = true;
    }
    if (!tidy) (untidy ??= []).push(name);
    if (tab) (tabbed ??= []).push(name);
    Object.freeze(list);
  }
  Object.freeze(fp);
  FACTS.set(fp, { injected, untidy: untidy ?? NONE, tabbed: tabbed ?? NONE });
  return fp;
}

/** The facts of a fingerprint sealFingerprint sealed; undefined for any other object. */
export function fingerprintFacts(fp: object): FingerprintFacts | undefined {
  return FACTS.get(fp);
}
