// Preloaded into the `serve` process under soak (node --import): appends one line every
// SOAK_SAMPLE_MS (default 30 s) to SOAK_CSV with the process's own memory figures and its open
// file descriptors. heapUsed can only be read from inside the process; the timer is unref'd so it
// never keeps the server alive, and one line per 30 s costs nothing measurable.
import { appendFileSync, readdirSync } from 'node:fs';

const file = process.env.SOAK_CSV;
const every = Number(process.env.SOAK_SAMPLE_MS ?? 30_000);
if (file) {
  if (!Number.isInteger(every) || every < 1000) throw new Error(`SOAK_SAMPLE_MS must be an integer >= 1000, got ${process.env.SOAK_SAMPLE_MS}`);
  const t0 = Date.now();
  const sample = () => {
    const m = process.memoryUsage();
    let fds = -1;
    try {
      fds = readdirSync('/proc/self/fd').length - 1; // minus the directory handle readdir itself holds
    } catch {
      // not Linux
    }
    appendFileSync(file, `${new Date().toISOString()},${((Date.now() - t0) / 1000).toFixed(0)},${m.rss},${m.heapUsed},${m.heapTotal},${m.external},${m.arrayBuffers},${fds}\n`);
  };
  appendFileSync(file, 'time,uptime_s,rss,heap_used,heap_total,external,array_buffers,fds\n');
  sample();
  setInterval(sample, every).unref();
}
