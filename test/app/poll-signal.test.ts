/**
 * The poller's IDLE wait listens to two signals (stop, and "a folder was gained or lost"). It
 * combined them with AbortSignal.any, which on Node 20 leaves one WeakRef per call in the
 * long-lived stop signal for good: the one-hour serve soak (scripts/soak.mjs) showed one more
 * WeakRef on the heap per new message. eitherSignal must leave nothing behind.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import { eitherSignal } from '../../src/app/poll.js';

/** Node's internal set of composite signals that depend on this one (absent on other runtimes). */
function dependants(s: AbortSignal): number {
  const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'kDependantSignals');
  const set = sym ? (s as unknown as Record<symbol, Set<unknown> | undefined>)[sym] : undefined;
  return set?.size ?? 0;
}

describe('eitherSignal (the poller IDLE wait signal)', () => {
  test('aborts when either signal aborts, with that signal\'s reason', () => {
    const stop = new AbortController();
    const wake = new AbortController();
    const a = eitherSignal(stop.signal, wake.signal);
    expect(a.signal.aborted).toBe(false);
    wake.abort('gained a folder');
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe('gained a folder');
    a.dispose();
    const b = eitherSignal(stop.signal, new AbortController().signal);
    stop.abort('stopping');
    expect(b.signal.reason).toBe('stopping');
    b.dispose();
    // Already aborted at creation: aborted at once.
    expect(eitherSignal(stop.signal, new AbortController().signal).signal.aborted).toBe(true);
  });

  test('ten thousand waits leave no listener and no dependant on the long-lived stop signal', () => {
    const stop = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const wake = new AbortController();
      const w = eitherSignal(stop.signal, wake.signal);
      if (i % 2) wake.abort();
      w.dispose();
    }
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    expect(dependants(stop.signal)).toBe(0);
  });
});
