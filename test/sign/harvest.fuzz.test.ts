/**
 * Property/fuzz suite for certificate harvesting (issue #12 harness): hostile, huge and deeply
 * nested MIME, signed-looking or not, never throws out of harvestFromMessage / harvestFromParts,
 * always yields warnings that say why nothing was harvested, and takes bounded time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { harvestFromMessage, harvestFromParts } from '../../src/sign/index.js';
import { FUZZ_TIMEOUT_MS, cpuMs, fuzzParams, hostileBlock, hostileMime } from '../helpers/hostile.js';

/** Generous, in CPU time (helpers/hostile.ts says why): CMS parsing of a garbage signature is linear; a blow-up is seconds. */
const HARVEST_BOUND_MS = 500;

describe('harvest fuzz: hostile MIME', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('harvestFromMessage resolves with no certificate and a reason, in bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileMime, hostileBlock), async (message) => {
        const t0 = cpuMs();
        const r = await harvestFromMessage(message, { from: 'alice@customer.example' });
        const ms = cpuMs() - t0;
        expect(r.ok).toBe(false);
        expect(r.certificate).toBeNull();
        expect(r.warnings.length).toBeGreaterThan(0);
        if (ms > HARVEST_BOUND_MS) {
          // One retry: a first run may pay for a cold cache or a garbage collection.
          const t1 = cpuMs();
          await harvestFromMessage(message, { from: 'alice@customer.example' });
          expect(cpuMs() - t1).toBeLessThan(HARVEST_BOUND_MS);
        }
      }),
      fuzzParams(120),
    );
  });

  it('harvestFromParts resolves on any pair of parts', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBlock, fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.base64String({ maxLength: 3000 }).map((s) => Buffer.from(s))), async (part, sig) => {
        const r = await harvestFromParts(part, sig, { from: 'alice@customer.example' });
        expect(r.warnings.length).toBeGreaterThan(0);
      }),
      fuzzParams(120),
    );
  });
});
