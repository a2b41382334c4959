/**
 * The throwaway Postfix of test/helpers/postfix.ts (upstream of the relay tests, and the MTA of
 * the pipe-delivery tests): delivers exactly what was submitted, refuses unknown mailboxes,
 * goes away on halt() and comes back on resume().
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onceEach, startPostfix, submittedBytes, type PostfixServer } from '../helpers/postfix.js';

describe('test Postfix helper', () => {
  let pf: PostfixServer;
  beforeAll(async () => {
    pf = await startPostfix();
  });
  afterAll(async () => {
    await pf?.stop();
  });

  it('delivers a submitted message unchanged into the recipient Maildir', async () => {
    const msg = 'From: app@census.test\r\nTo: alice@example.test\r\nSubject: helper\r\nMessage-ID: <helper-1@census.test>\r\n\r\nline one\r\nline two\r\n';
    const { execFileSync } = await import('node:child_process');
    execFileSync('swaks', ['--server', `${pf.host}:${pf.port}`, '--from', 'app@census.test', '--to', 'alice@example.test', '--data', '-'], { input: msg.slice(0, -2) }); // swaks adds the final CRLF itself
    const [got] = await pf.waitForMessages('alice', 1);
    expect(pf.version).toMatch(/^3\./);
    expect(submittedBytes(got!).toString('latin1')).toBe(msg);
  });

  it('refuses an unknown mailbox permanently, and stops/starts on demand', async () => {
    const { execFileSync } = await import('node:child_process');
    const unknown = (() => {
      try {
        execFileSync('swaks', ['--server', `${pf.host}:${pf.port}`, '--from', 'app@census.test', '--to', 'nobody@example.test'], { stdio: 'pipe' });
        return '';
      } catch (e) {
        return String((e as { stdout: Buffer }).stdout);
      }
    })();
    expect(unknown).toMatch(/<\*\*\s+550 5\.1\.1/);
    await pf.halt();
    const down = (() => {
      try {
        execFileSync('swaks', ['--server', `${pf.host}:${pf.port}`, '--from', 'app@census.test', '--to', 'bob@example.test'], { stdio: 'pipe' });
        return '';
      } catch (e) {
        return String((e as { stdout: Buffer; stderr: Buffer }).stdout) + String((e as { stderr: Buffer }).stderr);
      }
    })();
    expect(down).toMatch(/Connection refused/);
    await pf.resume();
    execFileSync('swaks', ['--server', `${pf.host}:${pf.port}`, '--from', 'app@census.test', '--to', 'bob@example.test'], { stdio: 'pipe' });
    expect(await pf.waitForMessages('bob', 1)).toHaveLength(1);
  });

  it('a caller\'s main.cf line replaces the default in place: Postfix reads each parameter once, so no program warns at start and postlogd keeps logging across restarts', async () => {
    expect(onceEach(['a = 1', 'b = 2', '', 'a = 3\nc = 4'])).toEqual(['a = 3', 'b = 2', '', 'c = 4']);
    expect(() => onceEach(['a = 1', '  continued'])).toThrow(/continuation/);
    const { execFileSync, spawnSync } = await import('node:child_process');
    const own = await startPostfix({ mainCf: 'smtpd_recipient_restrictions = reject_unauth_destination' });
    try {
      const env = { ...process.env, MAIL_CONFIG: own.configDir };
      // stderr of postconf is where Postfix says a parameter was set twice (the helper used to append)
      const pc = spawnSync('/usr/sbin/postconf', ['-c', own.configDir, '-h', 'smtpd_recipient_restrictions'], { env, encoding: 'utf8' });
      expect(pc.stderr).not.toMatch(/overriding earlier entry/);
      expect(pc.stdout.trim()).toBe('reject_unauth_destination');
      // every restart still logs and greets: postlogd is never left writing a warning into its own full socket
      for (let i = 0; i < 3; i++) {
        await own.halt();
        await own.resume();
      }
      execFileSync('swaks', ['--server', `${own.host}:${own.port}`, '--from', 'app@census.test', '--to', 'carol@example.test'], { stdio: 'pipe' });
      expect(await own.waitForMessages('carol', 1)).toHaveLength(1);
      expect(own.log().match(/starting the Postfix mail system/g)?.length).toBe(4);
      expect(own.log()).not.toMatch(/overriding earlier entry/);
    } finally {
      await own.stop();
    }
  });
});
