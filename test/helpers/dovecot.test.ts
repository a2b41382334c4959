/**
 * The Dovecot test harness itself: a crash must take the whole server with it (no process of
 * the old instance left holding its ports or counting logins), and resume() must return only
 * once the *new* server greets. An orphan forked while the old master was being killed kept
 * the listening socket; resume() then "succeeded" against it while the new master failed to
 * start, and the poller tests met a half-dead server (CI: refused logins, 100 s timeouts).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startDovecot, type DovecotServer } from './dovecot.js';

let s: DovecotServer | undefined;
afterAll(async () => {
  await s?.stop();
});

/** Ports in LISTEN state on 127.0.0.1 (from /proc/net/tcp, so no tool is needed). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => {
      const c = line.trim().split(/\s+/);
      return c[1] === `0100007F:${hex}` && c[3] === '0A';
    });
}

describe('Dovecot test harness', () => {
  it('crash() leaves nothing listening even while connections arrive, and resume() returns once the new master greets', async () => {
    s = await startDovecot();
    const server = s;
    // Connections arriving during the crash make the master fork login processes at that moment.
    let hammering = true;
    const open = new Set<Socket>();
    const hammer = async (): Promise<void> => {
      while (hammering) {
        const sock = connect({ host: server.host, port: server.port });
        open.add(sock);
        sock.on('error', () => undefined);
        sock.on('close', () => open.delete(sock));
        await new Promise((r) => setTimeout(r, 2));
        if (open.size > 20) for (const x of open) x.destroy();
      }
    };
    const hammers = [hammer(), hammer()];
    try {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 20 + (i % 5) * 15));
        server.crash();
        // Give any survivor time to show itself: nothing of the old instance may still listen.
        await new Promise((r) => setTimeout(r, 150));
        expect(listening(server.port) || listening(server.plainPort), `something still listens after crash #${i + 1}`).toBe(false);
        await server.resume();
        const pid = Number(readFileSync(join(server.dir, 'run', 'master.pid'), 'utf8').trim());
        expect(() => process.kill(pid, 0), `master.pid after resume #${i + 1} names a live master`).not.toThrow();
      }
    } finally {
      hammering = false;
      await Promise.all(hammers);
      for (const x of open) x.destroy();
    }
  });
});
