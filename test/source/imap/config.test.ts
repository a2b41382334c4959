import { describe, it, expect } from 'vitest';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { accountFromEnv, imapAccountSchema, pollSchema, resolveSecret, accountName, accountPort, POLL_DEFAULTS } from '../../../src/config/imap.js';
import { backoffDelay } from '../../../src/app/poll.js';
import { tempDir } from './helpers.js';

const base = { host: 'imap.example.com', user: 'support@example.com', passwordEnv: 'PW' };

describe('IMAP account config', () => {
  it('defaults to implicit TLS on 993, INBOX, one connection, verification on', () => {
    const a = imapAccountSchema.parse(base);
    expect(a).toMatchObject({ tls: 'implicit', folders: ['INBOX'], connections: 1, insecureSkipTlsVerify: false });
    expect(accountPort(a)).toBe(993);
    expect(accountPort(imapAccountSchema.parse({ ...base, tls: 'starttls' }))).toBe(143);
    expect(accountName(a)).toBe('support@example.com@imap.example.com');
  });

  it('requires exactly one secret source and an explicit allowPlain for plain connections', () => {
    expect(() => imapAccountSchema.parse({ host: 'h', user: 'u' })).toThrow(/exactly one of passwordEnv/);
    expect(() => imapAccountSchema.parse({ ...base, passwordFile: '/x' })).toThrow(/exactly one/);
    expect(() => imapAccountSchema.parse({ ...base, tls: 'plain' })).toThrow(/allowPlain/);
    expect(imapAccountSchema.parse({ ...base, tls: 'plain', allowPlain: true }).tls).toBe('plain');
    // a password is never a config value
    expect(() => imapAccountSchema.parse({ ...base, password: 'x' })).toThrow();
  });

  it('rejects 0, NaN and strings for poll limits instead of falling back', () => {
    for (const bad of [0, Number.NaN, '500', -1, 1.5]) expect(pollSchema.safeParse({ batchSize: bad }).success).toBe(false);
    expect(pollSchema.safeParse({ backoffInitialMs: 5000, backoffMaxMs: 1000 }).success).toBe(false);
    expect(POLL_DEFAULTS.batchSize).toBe(500);
  });

  it('builds one account from CENSUS_IMAP_* and refuses a password in the URL', () => {
    const a = accountFromEnv({ CENSUS_IMAP_URL: 'imaps://support%40example.com@imap.example.com:1993', CENSUS_IMAP_FOLDERS: 'INBOX, Archive', CENSUS_IMAP_PASSWORD: 's', CENSUS_IMAP_CA_FILE: '/ca.pem' });
    expect(a).toMatchObject({ host: 'imap.example.com', port: 1993, tls: 'implicit', user: 'support@example.com', folders: ['INBOX', 'Archive'], passwordEnv: 'CENSUS_IMAP_PASSWORD', caFile: '/ca.pem' });
    expect(accountFromEnv({ CENSUS_IMAP_URL: 'imap://u@h', CENSUS_IMAP_PASSWORD_FILE: '/pw' })).toMatchObject({ tls: 'starttls', passwordFile: '/pw', folders: ['INBOX'] });
    expect(accountFromEnv({})).toBeNull();
    let msg = '';
    try {
      accountFromEnv({ CENSUS_IMAP_URL: 'imaps://u:hunter2@h' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/must not contain a password/);
    expect(msg).not.toContain('hunter2');
    expect(() => accountFromEnv({ CENSUS_IMAP_URL: 'imaps://u@h' })).toThrow(/CENSUS_IMAP_PASSWORD_FILE/);
    expect(() => accountFromEnv({ CENSUS_IMAP_URL: 'http://u@h', CENSUS_IMAP_PASSWORD: 'x' })).toThrow(/scheme/);
  });

  it('reads secrets from env or file at connect time, with errors that name the key but not the value', () => {
    const t = tempDir();
    try {
      const f = join(t, 'pw');
      writeFileSync(f, 'from-file\n');
      expect(resolveSecret(imapAccountSchema.parse({ host: 'h', user: 'u', passwordFile: f }))).toEqual({ kind: 'password', value: 'from-file' });
      expect(resolveSecret(imapAccountSchema.parse({ host: 'h', user: 'u', accessTokenEnv: 'TOK' }), { TOK: 'abc' })).toEqual({ kind: 'accessToken', value: 'abc' });
      expect(() => resolveSecret(imapAccountSchema.parse(base), {})).toThrow(/passwordEnv names PW, which is not set/);
      expect(() => resolveSecret(imapAccountSchema.parse({ host: 'h', user: 'u', accessTokenFile: join(t, 'missing') }))).toThrow(/accessTokenFile .* cannot be read \(ENOENT\)/);
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  });

  it('backs off exponentially with jitter, capped', () => {
    const p = { backoffInitialMs: 1000, backoffMaxMs: 60_000 };
    for (let i = 0; i < 50; i++) {
      const d1 = backoffDelay(1, p);
      expect(d1).toBeGreaterThanOrEqual(750);
      expect(d1).toBeLessThanOrEqual(1250);
      const d4 = backoffDelay(4, p);
      expect(d4).toBeGreaterThanOrEqual(6000);
      expect(d4).toBeLessThanOrEqual(10_000);
      expect(backoffDelay(100, p)).toBeLessThanOrEqual(75_000);
    }
  });
});
