/**
 * The server's one-address lookups share one read transaction per event-loop turn
 * (StoreOptions.lookupSnapshotPerTurn, on in SERVER_STORE_OPTIONS): they answer as the store's
 * own lookups do, see a write committed in an earlier turn, and never hold an erasure's
 * checkpoint back.
 */
import { describe, expect, test } from 'vitest';
import { statSync } from 'node:fs';
import { SERVER_STORE_OPTIONS } from '../../src/app/index.js';
import { openStore } from '../../src/store/index.js';
import { PEOPLE, seededAppFor } from '../http/helpers.js';
import { rawExec } from '../helpers/app.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('lookups with one snapshot per event-loop turn', () => {
  const seeded = seededAppFor();
  const ADDRESSES = [...Object.values(PEOPLE), 'nobody@never.example'];

  test('answer as the store answers without it, with and without client lists, also for expired decisions', async () => {
    const now = Date.now();
    const server = openStore(seeded.app.config.db, SERVER_STORE_OPTIONS);
    try {
      const plain = seeded.app.store.embedded!;
      const shared = server.embedded!;
      for (const clients of [true, false]) for (const a of ADDRESSES) expect(shared.lookup(a, { clients, now })).toEqual(plain.lookup(a, { clients, now }));
      // Long after every decision expired: the state comes along, as from the store's statement.
      const later = now + 400 * 86_400_000;
      await turn();
      for (const a of ADDRESSES) expect(shared.lookup(a, { clients: true, now: later })).toEqual(plain.lookup(a, { clients: true, now: later }));
    } finally {
      await server.close();
    }
  });

  test('a write committed in an earlier turn is seen; within a turn the snapshot of its first lookup is kept', async () => {
    const now = Date.now();
    const server = openStore(seeded.app.config.db, SERVER_STORE_OPTIONS);
    const set = (reason: string) => rawExec(seeded.app, (db) => db.prepare('UPDATE addresses SET reason = ? WHERE address = ?').run(reason, PEOPLE.outlook));
    const reason = () => server.embedded!.lookup(PEOPLE.outlook, { clients: false, now })!.decision.reason;
    const before = reason();
    try {
      set('changed in the same turn');
      expect(reason()).toBe(before);
      await turn();
      expect(reason()).toBe('changed in the same turn');
      await turn();
      set('changed in a later turn');
      expect(reason()).toBe('changed in a later turn');
    } finally {
      set(before);
      await server.close();
    }
  });

  test("an erasure in the middle of a turn is not held back by the turn's read transaction", async () => {
    const now = Date.now();
    const server = openStore(seeded.app.config.db, SERVER_STORE_OPTIONS);
    try {
      expect(server.embedded!.lookup(PEOPLE.noSign, { clients: true, now })).not.toBeNull();
      const t = Date.now();
      expect(await server.erase(PEOPLE.noSign, 'hash-of-carol', now)).toBeGreaterThan(0);
      // wal_checkpoint(TRUNCATE) waits for readers (busy_timeout 5 s); the lookups' reader ended first.
      expect(Date.now() - t).toBeLessThan(2_000);
      expect(statSync(seeded.app.config.db + '-wal').size).toBe(0);
      expect(server.embedded!.lookup(PEOPLE.noSign, { clients: true, now })).toBeNull();
    } finally {
      await server.close();
    }
  });
});
