/**
 * GET /v1/export.csv streams: 100k rows through a real port with bounded memory. The rows are
 * bulk-inserted (importing 100k messages would only slow the test down, not change the path).
 */
import { expect, test } from 'vitest';
import { join } from 'node:path';
import { openApp, silentLogger } from '../../src/app/index.js';
import { startServer, tokensFrom } from '../../src/http/index.js';
import { bulkAddresses, tempDir, testConfig } from './helpers.js';
import { rawExec } from '../helpers/app.js';

const ROWS = 100_000;

test('100k-row CSV export streams through HTTP with bounded memory', async () => {
  const t = tempDir();
  const config = testConfig(join(t.dir, 'census.db'));
  const setup = openApp({ config, logger: silentLogger() });
  await setup.close();
  // ~310 bytes per row: 31 MB of CSV, written and checkpointed by a raw connection.
  rawExec(setup, (db) => bulkAddresses(db, ROWS, { reasonPad: 200 }));
  const app = openApp({ config, logger: silentLogger() });
  const { server, url } = await startServer({ app, tokens: tokensFrom({}), host: '127.0.0.1', port: 0, publicDir: null });
  try {
    // The store maps the database file (mmap_size): read every row once through it first, so
    // that file pages entering RSS are not mistaken for buffered output.
    for (let after = ''; ; ) {
      const page = await app.store.addressPage(after, 10_000);
      if (page.length === 0) break;
      await app.store.lookupMany(page, { clients: false, now: Date.now() });
      after = page[page.length - 1]!;
    }
    const base = process.memoryUsage().rss;
    let peak = base;
    const mu0 = process.memoryUsage();
    let heapPeak = mu0.heapUsed + mu0.external;
    const res = await fetch(`${url}/v1/export.csv?since=2000-01-01`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename=/);
    // Chunked: the server does not know (or buffer to learn) the length.
    expect(res.headers.get('content-length')).toBeNull();
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let lines = 0;
    let bytes = 0;
    let first = '';
    let tail = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split('\r\n');
      tail = parts.pop()!;
      if (!first && parts.length) first = parts[0]!;
      lines += parts.length;
      // A slow reader: the server must wait for us rather than buffer the rest.
      if (lines % 20 === 0) await new Promise((r) => setImmediate(r));
      const mu = process.memoryUsage();
      peak = Math.max(peak, mu.rss);
      heapPeak = Math.max(heapPeak, mu.heapUsed + mu.external);
    }
    expect(tail).toBe('');
    expect(first).toBe('address,recommendation,family,product,version,smime,last_seen,messages,reason,key_changed');
    expect(lines).toBe(ROWS + 1);
    expect(bytes).toBeGreaterThan(20_000_000);
    const growth = peak - base;
    // Buffering would hold the 31 MB body at least twice (string + Buffer) besides the reader's
    // copy: >= 90 MB. Streaming holds a page or two (the store pages 20k rows, ~6 MB here) plus
    // garbage the GC has not yet collected: 20-45 MB measured.
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    // Server and reader share this process: buffering the export would show as >= 25 MB.
    console.log(`export: ${lines} lines, ${(bytes / 1e6).toFixed(1)} MB, RSS growth ${(growth / 1e6).toFixed(1)} MB heap+ext growth ${((heapPeak - mu0.heapUsed - mu0.external) / 1e6).toFixed(1)} MB`);
  } finally {
    await server.close();
    await app.close();
    t.cleanup();
  }
});
