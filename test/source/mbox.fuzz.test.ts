/**
 * Property/fuzz suite for the mbox reader and ingest's counting (issue #12 harness): any mbox
 * built from hostile messages and separator lines is read without an exception, yields one item
 * per separator line, and ingest counts every item exactly once: stored, duplicate, or skipped
 * with one reason.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMbox } from '../../src/source/file/index.js';
import { ingestAll } from '../../src/app/index.js';
import { tempDir } from '../helpers/tmp.js';
import { openTestApp } from '../helpers/app.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, hostileBlock, hostileValue } from '../helpers/hostile.js';

const t = tempDir('census-mbox-fuzz-');
const app = openTestApp(t.dir);
afterAll(() => {
  app.close();
  t.cleanup();
});

const separator = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('From a@x Tue Apr  3 16:55:26 2012', 'From MAILER-DAEMON Thu Jan  1 00:00:00 1970', 'From x@y  Sat Jan 12 12026 10:00:00 2026', 'From ', 'From a') },
  { weight: 1, arbitrary: hostileValue.map((v) => 'From ' + v.replace(/[\r\n]/g, ' ')) },
);
const body = fc.oneof(fc.constant(''), fc.constant('body\n>From quoted\n'), hostileValue.map((v) => v.replace(/\nFrom /g, '\n>From ')));
const message = fc.tuple(separator, hostileBlock, body).map(([sep, block, b]) => {
  // A "\nFrom " inside a message starts the next one, as in any mbox: keep them out of the parts.
  const head = Buffer.from(block.toString('latin1').replace(/\nFrom /g, '\n>From ').replace(/\n\n/g, '\n'), 'latin1');
  return Buffer.concat([Buffer.from(sep + '\n'), head, Buffer.from('\n' + b + '\n')]);
});

let n = 0;
describe('mbox fuzz: hostile mbox files', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('one item per separator line, never an exception, every item counted once by ingest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 12 }), async (messages) => {
        const file = join(t.dir, `f${++n}.mbox`);
        const bytes = Buffer.concat(messages);
        writeFileSync(file, bytes);
        const items = [];
        for await (const item of readMbox(file, file)) items.push(item);
        const separators = 1 + (bytes.toString('latin1').match(/\nFrom /g)?.length ?? 0);
        expect(items).toHaveLength(separators);
        expect(new Set(items.map((i) => i.sourceKey)).size).toBe(items.length);
        // One database for all runs: a message seen in an earlier run is a duplicate, still counted once.
        const c = await ingestAll(app, items);
        const skipped = Object.values(c.skipped).reduce((a, b) => a + (b ?? 0), 0);
        expect(c.read).toBe(items.length);
        expect(c.stored + c.duplicates + skipped).toBe(c.read);
      }),
      fuzzParams(25),
    );
  });
});
