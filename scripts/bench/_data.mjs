// Shared generators for benchmarks: realistic header blocks from the fixture corpus (real
// client fingerprints, synthetic addresses and Message-IDs).
import { readdirSync, readFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIX = join(root, 'test', 'fixtures', 'messages');

/** Header blocks of the fixture messages, with From/Message-ID/Date/Precedence removed (re-added per message). */
export function templates() {
  return readdirSync(FIX)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(FIX, f), 'utf8').replace(/\r\n/g, '\n');
      const head = text.slice(0, text.indexOf('\n\n') + 1);
      // drop fields re-generated per message (and their folded continuation lines)
      const out = [];
      let skipping = false;
      for (const line of head.split('\n')) {
        if (/^[ \t]/.test(line)) { if (!skipping) out.push(line); continue; }
        skipping = /^(from|message-id|date|precedence|list-[a-z]+|auto-submitted|sender):/i.test(line);
        if (!skipping && line) out.push(line);
      }
      return out.join('\n') + '\n';
    });
}

/** The i-th synthetic message (header block + body of `bodyBytes`). */
export function message(tpls, i, addresses, bodyBytes = 2000) {
  const t = tpls[i % tpls.length];
  const d = new Date(Date.UTC(2026, 0, 1) + (i % 300) * 86_400_000 + i * 1000);
  const head = `From: Customer ${i} <user${i % addresses}@customer${i % 97}.example>\nDate: ${d.toUTCString()}\nMessage-ID: <bench-${i}-${(i * 2654435761) >>> 0}@client.example>\n${t}`;
  return { head, body: 'x'.repeat(Math.max(0, bodyBytes - 1)) + '\n', date: d };
}

/** Writes an mbox of n messages; returns its path. */
export async function writeMbox(path, n, { addresses = Math.ceil(n / 3), bodyBytes = 2000 } = {}) {
  const tpls = templates();
  const ws = createWriteStream(path);
  for (let i = 0; i < n; i++) {
    const m = message(tpls, i, addresses, bodyBytes);
    if (!ws.write(`From user${i}@x ${m.date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (.+) GMT$/, '$1 $3 $2 $5 $4')}\n${m.head}\n${m.body}\n`)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return path;
}
