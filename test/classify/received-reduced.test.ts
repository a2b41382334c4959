/**
 * classify's receivedReduced (issue 14): ingest hands classify parse's own fingerprint, whose
 * Received values parse already reduced to `by <host> with <protocol>`, so classify matches them
 * as they are instead of reducing them a second time. The verdict must be the one classify gives
 * without the note, on every corpus block and message; a caller's raw Received headers (no note)
 * are still reduced before any rule sees them.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, defaultRulesDir, fingerprintFromFields, loadRules } from '../../src/classify/index.js';
import { parseHeaderBlock, parseMessage } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';

// source: copies of /work/shared/corpus/blocks and messages (their sources: blocks/labels.tsv, messages/*.json).
const corpus = fileURLToPath(new URL('../fixtures/classify/corpus', import.meta.url));
const rules = loadRules([defaultRulesDir()]);
const selector = fingerprintSelector();

function corpusFiles(): string[] {
  const blocks = readdirSync(join(corpus, 'blocks')).filter((f) => f.endsWith('.hdr')).map((f) => join(corpus, 'blocks', f));
  const messages = readdirSync(join(corpus, 'messages')).filter((f) => f.endsWith('.eml')).map((f) => join(corpus, 'messages', f));
  return [...blocks, ...messages];
}

describe('classify on parse fingerprints: Received values parse reduced are not reduced again', () => {
  it('gives the verdict classify gives without the note, on every corpus block and message', () => {
    let withReceived = 0;
    let compared = 0;
    for (const file of corpusFiles()) {
      const bytes = readFileSync(file);
      // What ingest hands classify (parse's fingerprint, when parse takes the message: most of
      // the corpus is list mail that parse skips as bulk), and the same reduction on every block.
      const parsed = parseMessage(bytes, { fingerprint: selector });
      const block = parseHeaderBlock(bytes);
      if (!block.ok) throw new Error(`${file}: ${block.detail}`);
      for (const fp of [...(parsed.ok ? [parsed.message.fingerprint] : []), fingerprintFromFields(block.fields)]) {
        if (fp['received']?.length) withReceived++;
        expect(classify(rules, fp, { receivedReduced: true }), file).toEqual(classify(rules, fp));
        compared++;
      }
    }
    // The corpus must exercise the path: most of its blocks carry Received headers.
    expect(compared).toBeGreaterThan(150);
    expect(withReceived).toBeGreaterThan(50);
  });

  it('still reduces a caller\'s raw Received value when the note is absent', () => {
    const raw = { received: ['from [192.0.2.7] (helo=laptop) by smtp.gmail.com with ESMTPSA id abc123 for <kim@example.org>; Tue, 1 Oct 2024 10:00:00 +0000'] };
    const reduced = { received: ['by smtp.gmail.com with ESMTPSA'] };
    expect(classify(rules, raw)).toEqual(classify(rules, reduced, { receivedReduced: true }));
  });
});
