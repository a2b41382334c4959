import { describe, it, expect } from 'vitest';
import { applyObservation, recommend, evidenceClass, type ObservationFacts, type AddressState } from '../../src/policy/index.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 28);
const strict = { mode: 'strict' as const, windowDays: 180 };
const lenient = { mode: 'lenient' as const, windowDays: 180 };

function obs(daysAgo: number, over: Partial<ObservationFacts> = {}): ObservationFacts {
  return { at: NOW - daysAgo * DAY, family: 'thunderbird', kind: 'client', product: 'Thunderbird', version: '115', smime: 'verify', confidence: 0.9, warnings: [], smimeMessage: null, authenticated: null, ...over };
}
function fold(...os: ObservationFacts[]): AddressState {
  return os.reduce<AddressState | null>((s, o) => applyObservation(s, 'a@x.example', o), null)!;
}

describe('policy', () => {
  it('strict: sign when all recent evidence is from verify clients', () => {
    expect(recommend(fold(obs(10), obs(50)), NOW, strict).recommendation).toBe('sign');
  });
  it('strict: do-not-sign when a non-verify client was seen in the window, whatever came after', () => {
    const s = fold(obs(100, { family: 'gmail', product: 'Gmail', smime: 'tolerate', kind: 'webmail' }), obs(1));
    const d = recommend(s, NOW, strict);
    expect(d.recommendation).toBe('do-not-sign');
    expect(d.reason).toMatch(/Gmail/);
    // ...until that evidence leaves the window: the decision carries its expiry.
    expect(d.decidedUntil).toBe(NOW - 100 * DAY + 180 * DAY);
    expect(recommend(s, d.decidedUntil! + 1, strict).recommendation).toBe('sign');
  });
  it('strict: unknown when nothing is in the window, or only an unrecognised program', () => {
    expect(recommend(fold(obs(400)), NOW, strict).recommendation).toBe('unknown');
    expect(recommend(fold(obs(5, { family: null, product: null, kind: 'unknown', smime: 'unknown', confidence: 0.2 })), NOW, strict).recommendation).toBe('unknown');
    expect(recommend(fold(obs(5), obs(3, { family: null, product: null, kind: 'unknown', smime: 'unknown', confidence: 0.2 })), NOW, strict).recommendation).toBe('unknown');
  });
  it('lenient: sign unless a broken client was seen in the window', () => {
    expect(recommend(fold(obs(5, { family: 'gmail', smime: 'tolerate' })), NOW, lenient).recommendation).toBe('sign');
    expect(recommend(fold(obs(5, { family: 'x', smime: 'broken' })), NOW, lenient).recommendation).toBe('do-not-sign');
    expect(recommend(null, NOW, lenient).recommendation).toBe('unknown');
  });
  it('automated, forged-looking and unauthenticated mail is not evidence', () => {
    expect(evidenceClass(obs(1, { kind: 'automated', family: null }))).toBe('none');
    expect(evidenceClass(obs(1, { confidence: 0.3, warnings: ['forged:outlook-message-id'] }))).toBe('none');
    expect(evidenceClass(obs(1, { family: null, confidence: 0.2, warnings: ['forged:random-word-mailer'] }))).toBe('none');
    expect(evidenceClass(obs(1, { authenticated: false }))).toBe('none');
    // A forged Thunderbird does not override genuine Gmail evidence.
    const s = fold(obs(20, { family: 'gmail', smime: 'tolerate' }), obs(1, { confidence: 0.3, warnings: ['forged:x'] }));
    expect(recommend(s, NOW, strict).recommendation).toBe('do-not-sign');
  });
  it('an S/MIME-signed message counts as verify evidence', () => {
    expect(evidenceClass(obs(1, { family: 'gmail', smime: 'tolerate', smimeMessage: 'signed' }))).toBe('verify');
  });
  it('the state does not depend on the order observations arrive in', () => {
    const a = obs(30, { family: 'gmail', smime: 'tolerate' });
    const b = obs(10);
    const c = obs(200, { family: 'x', smime: 'broken' });
    const s1 = fold(a, b, c);
    const s2 = fold(c, b, a);
    expect(s1).toEqual(s2);
  });
});
