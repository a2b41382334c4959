/** How IMAP failures are classified: a temporary refusal is retried, a bad password is not. */
import { describe, expect, it } from 'vitest';
import { isTransient, toImapError } from '../../src/source/imap/errors.js';

const account = { name: 'support', host: '127.0.0.1', port: 993, user: 'census' } as unknown as Parameters<typeof toImapError>[1];

describe('toImapError', () => {
  it('a login refused with [LIMIT] (too many connections from this user+IP, RFC 5530) is transient', () => {
    const e = toImapError({ message: 'Command failed', responseStatus: 'NO', serverResponseCode: 'LIMIT', authenticationFailed: true, responseText: 'Maximum number of connections from user+IP exceeded' }, account);
    expect(e.code).toBe('E_IMAP_CONNECT');
    expect(isTransient(e)).toBe(true);
  });
  it('a wrong password stays E_IMAP_AUTH and is not retried', () => {
    const e = toImapError({ message: 'Command failed', responseStatus: 'NO', serverResponseCode: 'AUTHENTICATIONFAILED', authenticationFailed: true, responseText: 'Authentication failed.' }, account);
    expect(e.code).toBe('E_IMAP_AUTH');
    expect(isTransient(e)).toBe(false);
  });
});
