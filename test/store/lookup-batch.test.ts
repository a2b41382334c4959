/**
 * The PostgreSQL store's point-lookup batcher on its own (src/store/postgres/lookup-batch.ts):
 * the lookups of one turn share a statement, a batch holds at most its cap, lookups asked for
 * while the batches are in flight wait for the next one, and a failed statement rejects the
 * lookups of its own batch only.
 */
import { describe, expect, test } from 'vitest';
import { LookupBatcher, type LookupBatch } from '../../src/store/postgres/lookup-batch.js';

const opts = (now = 1, clients = true) => ({ now, clients });

/** A runBatch that records each batch and answers `<address>@<now>` once released. */
function recorder(fail?: (b: LookupBatch) => boolean) {
  const batches: LookupBatch[] = [];
  const pending: Array<() => void> = [];
  const run = (b: LookupBatch): Promise<Array<string | null>> => {
    batches.push(b);
    return new Promise((resolve, reject) => {
      pending.push(() => (fail?.(b) ? reject(new Error(`batch ${batches.indexOf(b)} failed`)) : resolve(b.addresses.map((a, i) => (a.startsWith('unknown') ? null : `${a}@${b.nows[i]}/${b.clients[i]}`)))));
    });
  };
  const releaseAll = () => pending.splice(0).forEach((f) => f());
  return { batches, run, releaseAll };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('LookupBatcher', () => {
  test('the lookups of one turn go out as one batch, each answered with its own row (its own now and clients option; unknown is null)', async () => {
    const r = recorder();
    const b = new LookupBatcher(r.run);
    const ps = [b.lookup('a', opts(1)), b.lookup('unknown1', opts(2)), b.lookup('b', opts(3, false)), b.lookup('a', opts(4))];
    await turn();
    expect(r.batches).toEqual([{ addresses: ['a', 'unknown1', 'b', 'a'], nows: [1, 2, 3, 4], clients: [true, true, false, true] }]);
    r.releaseAll();
    expect(await Promise.all(ps)).toEqual(['a@1/true', null, 'b@3/false', 'a@4/true']);
  });

  test('a batch holds at most its cap; lookups asked for while the batches are in flight wait and go out together', async () => {
    const r = recorder();
    const b = new LookupBatcher(r.run, 3, 2);
    const first = Array.from({ length: 8 }, (_, i) => b.lookup(`x${i}`, opts()));
    await turn();
    // Two batches in flight (the cap of 3 each); the other two lookups wait.
    expect(r.batches.map((x) => x.addresses)).toEqual([['x0', 'x1', 'x2'], ['x3', 'x4', 'x5']]);
    const later = [b.lookup('y0', opts()), b.lookup('y1', opts())];
    await turn();
    expect(r.batches).toHaveLength(2);
    r.releaseAll();
    await Promise.all(first.slice(0, 6));
    await turn();
    expect(r.batches.map((x) => x.addresses).slice(2)).toEqual([['x6', 'x7', 'y0'], ['y1']]);
    r.releaseAll();
    expect(await Promise.all([...first, ...later])).toEqual([...Array.from({ length: 8 }, (_, i) => `x${i}@1/true`), 'y0@1/true', 'y1@1/true']);
  });

  test("a failed statement rejects its own batch's lookups and no others", async () => {
    const r = recorder((x) => x.addresses.includes('bad'));
    const b = new LookupBatcher(r.run, 2, 4);
    const ps = ['ok1', 'ok2', 'bad', 'ok3', 'ok4'].map((a) => b.lookup(a, opts()).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    await turn();
    r.releaseAll();
    expect(await Promise.all(ps)).toEqual([{ v: 'ok1@1/true' }, { v: 'ok2@1/true' }, { e: 'batch 1 failed' }, { e: 'batch 1 failed' }, { v: 'ok4@1/true' }]);
    // And the batcher goes on after it.
    const next = b.lookup('ok5', opts());
    await turn();
    r.releaseAll();
    expect(await next).toBe('ok5@1/true');
  });

  test('limits are validated: 0, NaN or a fraction is an error, not a silent default', () => {
    for (const bad of [0, NaN, 1.5, -1]) {
      expect(() => new LookupBatcher(async () => [], bad)).toThrow(RangeError);
      expect(() => new LookupBatcher(async () => [], 4, bad)).toThrow(RangeError);
    }
  });
});
