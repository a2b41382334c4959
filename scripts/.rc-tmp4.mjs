import { checkSync } from 'recheck';
for (const src of process.argv.slice(2)) {
  const t = performance.now(); const d = checkSync(src, 'i');
  console.log(d.status, d.checker, d.complexity?.summary ?? d.error?.kind, (performance.now()-t).toFixed(0)+'ms', src);
}
