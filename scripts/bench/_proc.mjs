// Process measurements shared by benchmarks (Linux /proc): CPU time and peak RSS of another
// process, CPU pinning with taskset, and running a command while sampling its peak RSS.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

let ticks = null;
/** Clock ticks per second of /proc/PID/stat's utime and stime (usually 100). */
export function clockTicks() {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU time of a process in microseconds (from /proc/PID/stat, all its threads). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may contain spaces; the fields after its closing parenthesis are fixed (utime is field 14).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / clockTicks();
}

/** Peak resident set (VmHWM) of a process in bytes, 0 when it is gone. */
export function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

let taskset = null;
/** Whether `taskset` works here (util-linux; a container may forbid changing affinity). */
export function tasksetWorks() {
  if (taskset === null) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      taskset = cpus().length >= 2;
    } catch {
      taskset = false;
    }
  }
  return taskset;
}

/**
 * [cmd, args] prefixed with `taskset -c CPU` when pinning is possible, else unchanged. With two
 * cores, the server gets CPU 0 and the load generator CPU 1, so neither steals the other's core.
 */
export function pinned(cpu, cmd, args) {
  if (!tasksetWorks()) return [cmd, args];
  return ['taskset', ['-c', String(cpu % cpus().length), cmd, ...args]];
}

/**
 * Runs a command to completion, sampling its peak RSS; stdout goes to `stdout` (a file
 * descriptor or 'ignore'). Returns wall ms and peak RSS in bytes; rejects on a non-zero exit.
 */
export async function runMeasured(cmd, args, { stdout = 'ignore', env, cwd } = {}) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', stdout, 'pipe'], env, cwd });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 20);
  const [code] = await once(child, 'exit');
  clearInterval(timer);
  if (code !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${code}: ${err}`);
  return { ms: performance.now() - t0, peak };
}
