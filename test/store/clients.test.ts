/**
 * The client list kept in the address row (store/clients.ts): what ingest and recompute add to
 * it, and the order lookups hand it out in, on both dialects alike.
 */
import { describe, it, expect } from 'vitest';
import { addClients, clientRows, NO_CLIENTS } from '../../src/store/clients.js';
import { clientKeyOf, type ClientIdentity } from '../../src/store/index.js';

const tb: ClientIdentity = { family: 'thunderbird', product: 'Thunderbird', version: '115.0', platform: 'linux', smime: 'verify' };
const ol: ClientIdentity = { family: 'outlook-windows', product: 'Microsoft Outlook', version: '16.0', platform: null, smime: 'verify' };
const add = (client: ClientIdentity, n: number, at: number) => ({ client, clientKey: clientKeyOf(client), n, at });

describe('the client list in the address row', () => {
  it('a new address gets its batch counts; an address with none reads as an empty list', () => {
    expect(clientRows(NO_CLIENTS)).toEqual([]);
    expect(clientRows(null)).toEqual([]);
    expect(clientRows(addClients(null, [add(tb, 3, 1000)]))).toEqual([{ ...tb, count: 3, lastSeen: 1000 }]);
  });

  it('a listed client adds its count and keeps the later time, even when older mail arrives later', () => {
    const stored = addClients(null, [add(tb, 2, 5000), add(ol, 1, 4000)]);
    const next = addClients(stored, [add(tb, 1, 3000), add(ol, 4, 6000)]);
    expect(clientRows(next)).toEqual([{ ...ol, count: 5, lastSeen: 6000 }, { ...tb, count: 3, lastSeen: 5000 }]);
  });

  it('is kept in lookup order: most recent first, then most messages, then the client key by its UTF-8 bytes', () => {
    // U+FF21 (one UTF-16 unit) sorts after U+1F600 (a surrogate pair) in JS but before it in UTF-8.
    const wide: ClientIdentity = { ...tb, product: '\u{1F600}' };
    const narrow: ClientIdentity = { ...tb, product: '\uFF21' };
    const list = clientRows(addClients(null, [add(wide, 2, 1000), add(tb, 9, 500), add(narrow, 2, 1000), add(ol, 3, 1000)]));
    expect(list.map((c) => c.product)).toEqual(['Microsoft Outlook', '\uFF21', '\u{1F600}', 'Thunderbird']);
  });
});
