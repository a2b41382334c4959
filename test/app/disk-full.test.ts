/**
 * Regression test for issue #12 (weakness): a full database is E_DB (exit code 5, HTTP 503),
 * not E_INTERNAL, and the import says what it committed before the failure. The disk is made
 * "full" with SQLite's max_page_count on the writing connection: SQLite then fails with the
 * same SQLITE_FULL ("database or disk is full") as on a full file system.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { openTestApp } from '../helpers/app.js';
import { importPaths } from '../../src/app/index.js';
import { AppError } from '../../src/core/index.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { toHttpError } from '../../src/http/errors.js';

const t = tempDir('census-full-');
afterAll(() => t.cleanup());

const mail = (i: number) => [`From: c${i}@customer.example`, 'Date: Tue, 3 Apr 2012 16:55:26 +0000', `Message-ID: <full-${i}-${'x'.repeat(200)}@customer.example>`, `User-Agent: Thunderbird/115.${i}`, '', 'body', ''].join('\r\n');

describe('disk full', () => {
  it('a full database fails the import with E_DB (exit 5, HTTP 503) naming what was committed', async () => {
    const app = openTestApp(t.dir);
    try {
      const folder = join(t.dir, 'mail');
      mkdirSync(folder);
      for (let i = 0; i < 2500; i++) writeFileSync(join(folder, `${String(i).padStart(5, '0')}.eml`), mail(i));
      const first = join(t.dir, 'first');
      mkdirSync(first);
      for (let i = 0; i < 3; i++) writeFileSync(join(first, `${i}.eml`), mail(100_000 + i));
      await importPaths(app, [first]);
      // The SQLite implementation's own connection (max_page_count is per connection).
      const sqlite = (app.store as unknown as { sqlite: import('better-sqlite3').Database }).sqlite;
      const pages = Number(sqlite.pragma('page_count', { simple: true }));
      sqlite.pragma(`max_page_count = ${pages + 40}`);
      const err = await importPaths(app, [folder]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('E_DB');
      expect((err as AppError).message).toMatch(/SQLITE_FULL/);
      expect((err as AppError).message).toMatch(/committed before the failure: read \d+, stored \d+/);
      expect(EXIT_CODES.E_DB).toBe(5);

      // The real SQLITE_FULL error, through the HTTP adapter's one mapping: 503, code E_DB.
      expect(toHttpError(err)).toMatchObject({ status: 503, body: { error: { code: 'E_DB' } } });
    } finally {
      await app.close();
    }
  });
});
