import type { HeaderField } from '../core/index.js';

/**
 * DMARC result for the From domain according to Authentication-Results (RFC 8601) added by the
 * trusted server `authservId`. Only that server's fields count: any earlier hop (or the sender)
 * can write an Authentication-Results header, so others are ignored.
 * Returns true (pass), false (fail), or null (no verdict from the trusted server).
 */
export function dmarcResult(fields: readonly HeaderField[], authservId: string | undefined, fromDomain: string): boolean | null {
  if (!authservId) return null;
  const want = authservId.toLowerCase();
  let result: boolean | null = null;
  for (const f of fields) {
    if (f.name !== 'authentication-results') continue;
    const value = f.value.replace(/\([^()]*\)/g, ' ');
    const id = value.split(';', 1)[0]?.trim().split(/\s+/)[0]?.toLowerCase();
    if (id !== want) continue;
    for (const m of value.matchAll(/\bdmarc\s*=\s*([a-z]+)([^;]*)/gi)) {
      const verdict = m[1]!.toLowerCase();
      const fromMatch = /header\.from\s*=\s*([^\s;]+)/i.exec(m[2] ?? '');
      if (fromMatch && fromMatch[1]!.toLowerCase() !== fromDomain) continue;
      if (verdict === 'pass') return true;
      if (verdict === 'fail') result = false;
    }
    // The trusted server's topmost field is authoritative; earlier ones are from before it.
    if (result !== null) return result;
  }
  return result;
}
