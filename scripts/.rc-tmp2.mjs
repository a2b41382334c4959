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
const params = JSON.parse(process.argv[2] ?? '{}');
const t0 = performance.now(); let bad = 0; const times = [];
for (const [s, f] of uniq) {
  const t = performance.now();
  const d = checkSync(s, f, params);
  times.push(performance.now() - t);
  if (d.status !== 'safe') { bad++; console.log(d.status, d.checker, s.slice(0, 80), d.complexity?.summary ?? d.error?.kind); }
}
times.sort((a,b)=>a-b);
console.log(JSON.stringify(params), 'total ms', (performance.now()-t0).toFixed(0), 'bad', bad, 'median', times[times.length>>1].toFixed(0), 'max', times.at(-1).toFixed(0));
