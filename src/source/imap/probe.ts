/**
 * A cheap reachability probe: a bare TCP connect to the account's port, closed at once. While
 * a server is down its host refuses connections immediately, so probing every second costs
 * nothing on either side, and a reconnect can follow the server's return within about a second
 * instead of waiting out an exponential back-off (issue 17: the poller once reconnected 17 s
 * after Dovecot was back because its next retry was 19 s away).
 */
import { connect } from 'node:net';
import { accountPort, type ImapAccountConfig } from '../../config/imap.js';

/** One TCP connect attempt: true when something accepts on the account's host and port. */
export function probeOnce(account: ImapAccountConfig, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: account.host, port: accountPort(account) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Probes every `intervalMs` (±25% jitter, so many pollers do not probe in lockstep) until the
 * port accepts, `untilMs` (epoch ms) passes, or the signal aborts. True when it accepted.
 */
export async function waitUntilReachable(account: ImapAccountConfig, o: { intervalMs: number; untilMs: number; signal: AbortSignal; now?: () => number }): Promise<boolean> {
  const now = o.now ?? Date.now;
  while (!o.signal.aborted && now() < o.untilMs) {
    const wait = Math.min(Math.round(o.intervalMs * (0.75 + Math.random() * 0.5)), o.untilMs - now());
    await abortableSleep(wait, o.signal);
    if (o.signal.aborted || now() >= o.untilMs) break;
    if (await probeOnce(account, Math.max(250, o.intervalMs))) return true;
  }
  return false;
}

/** setTimeout as a promise that the signal ends early. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
