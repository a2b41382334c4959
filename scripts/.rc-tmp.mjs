import { checkSync } from 'recheck';
import { readRuleInputs, defaultRulesDir } from '../dist/classify/load.js';
const { rules } = readRuleInputs([defaultRulesDir()]);
const pats = [];
for (const { input: r } of rules) {
  const f = r.caseSensitive ? '' : 'i';
  for (const s of Object.values(r.match ?? {})) pats.push([s, f]);
  for (const c of r.checks ?? []) if (c.pattern !== undefined) pats.push([c.pattern, f]);
}
const uniq = [...new Map(pats.map(p => [p.join('/'), p])).values()];
console.log('patterns', pats.length, 'unique', uniq.length);
const t0 = performance.now(); let bad = 0; let slow = [];
for (const [s, f] of uniq) {
  const t = performance.now();
  const d = checkSync(s, f);
  const ms = performance.now() - t;
  if (ms > 300) slow.push([s, ms.toFixed(0)]);
  if (d.status !== 'safe') { bad++; console.log(d.status, s, d.complexity?.summary ?? d.error?.kind); }
}
console.log('total ms', (performance.now()-t0).toFixed(0), 'bad', bad, 'slow', slow);
