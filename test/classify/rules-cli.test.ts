import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';

// These run the built CLI (npm test builds first); they exercise exit codes and a real SQLite file.
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = builtCli();
const fx = (p: string): string => fileURLToPath(new URL(`../fixtures/classify/${p}`, import.meta.url));
const run = (args: string[], input?: string) =>
  noStackOnFailure(spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', env: { ...process.env, CENSUS_LOG_LEVEL: 'silent' } }), process.env);

describe.skipIf(!existsSync(cli))('rules CLI (built)', () => {
  it('rules lint exits non-zero with one line per problem naming file and rule id', () => {
    const r = run(['rules', 'lint', '--only', '--rules', fx('rules-bad-unsafe')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/bad\.yaml: rule nested-quantifier: match\.x-mailer: unsafe regex/);
  });

  it('rules test passes on the shipped rules', () => {
    const r = run(['rules', 'test']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\d+ examples, \d+ passed, 0 failed/);
  });

  it('rules capability prints one line per cell and the count per level; --unknown --json lists only the unknown cells', () => {
    const r = run(['rules', 'capability']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^verify +thunderbird \(all\)$/m);
    expect(r.stdout).toMatch(/^tolerate +gmail \(consumer\)$/m);
    const total = /(\d+) capability cells in \d+ families: (\d+) verify, (\d+) tolerate, (\d+) broken, (\d+) unknown/.exec(r.stdout);
    expect(total).not.toBeNull();
    const [cells, v, t, b, u] = total!.slice(1).map(Number) as [number, number, number, number, number];
    expect(v + t + b + u).toBe(cells);
    const j = JSON.parse(run(['rules', 'capability', '--unknown', '--json']).stdout) as { list: Array<{ level: string }>; byLevel: { unknown: number } };
    expect(j.list.length).toBe(j.byLevel.unknown);
    expect(j.list.every((c) => c.level === 'unknown')).toBe(true);
  });

  it('classify reads JSON lines and writes one line per input, exit 0', () => {
    const r = run(['classify'], '{"headers":{"User-Agent":"Mutt/2.2.12 (2023-09-09)"}}\nnope\n');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ family: 'mutt', version: '2.2.12' });
    expect(lines[1]).toHaveProperty('error');
  });

  it('rules unknown lists values no rule recognised, from a real database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'census-rules-unknown-'));
    try {
      const eml = join(dir, 'm.eml');
      writeFileSync(eml, 'From: A <a@customer.example>\r\nTo: s@company.example\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <abc.1@customer.example>\r\nX-Mailer: Zorblax Desktop 9.1\r\n\r\nbody\r\n');
      const db = join(dir, 'census.db');
      execFileSync(process.execPath, [cli, '--db', db, 'import', eml], { env: { ...process.env, CENSUS_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
      const r = run(['--db', db, 'rules', 'unknown', '--top', '5', '--json']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ header: 'x-mailer', value: 'Zorblax Desktop 9.1', count: 1 })]);
      expect(run(['--db', db, 'rules', 'unknown', '--top', '0']).status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
