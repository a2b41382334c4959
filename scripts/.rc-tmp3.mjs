import ts from 'typescript';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkSync } from 'recheck';
const files = [];
const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts')) files.push(p); } };
for (const d of process.argv.slice(2)) walk(d);
let n = 0;
for (const f of files) {
  const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const text = node.getText(); const i = text.lastIndexOf('/');
      const src = text.slice(1, i), flags = text.slice(i + 1).replace(/[gy]/g, '');
      n++;
      const t = performance.now(); const d = checkSync(src, flags);
      if (d.status !== 'safe') console.log(f + ':' + (sf.getLineAndCharacterOfPosition(node.getStart()).line + 1), d.status, text.slice(0, 90), d.complexity?.summary ?? d.error?.kind, (performance.now() - t).toFixed(0) + 'ms');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
console.log('regexes', n);
