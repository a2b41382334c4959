import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';

const CLI = builtCli();
const DEMO = join(import.meta.dirname, '..', '..', 'scripts', 'demo', 'sample.mbox');
const t = tempDir('census-cli-');
afterAll(() => t.cleanup());

function run(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input: opts.input, env: { ...process.env, CENSUS_LOG_LEVEL: 'warn', ...opts.env } });
  return noStackOnFailure({ code: r.status, stdout: r.stdout, stderr: r.stderr }, { ...process.env, ...opts.env });
}

describe('CLI contract (built binary)', () => {
  const db = join(t.dir, 'c.db');

  it('--help lists every command and exits 0', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['import', 'lookup', 'export', 'classify', 'stats', 'recompute', 'show', 'forget', 'poll', 'serve', 'sign', 'rules', 'certs']) expect(r.stdout).toContain(c);
  });

  it('import prints read, stored, duplicates and skipped by reason; a second import stores nothing', () => {
    const first = run(['--db', db, 'import', '--json', DEMO], { env: { CENSUS_OWN_DOMAINS: 'our-company.example' } });
    expect(first.code).toBe(0);
    const c = JSON.parse(first.stdout);
    expect(c).toMatchObject({ read: 20, stored: 17, duplicates: 0, skipped: { report: 1, 'own-domain': 1, 'auto-submitted': 1 } });
    const again = run(['--db', db, 'import', DEMO], { env: { CENSUS_OWN_DOMAINS: 'our-company.example' } });
    expect(again.stdout).toMatch(/stored\s+0\n/);
    expect(again.stdout).toMatch(/duplicates\s+17\n/);
  });

  it('lookup --json: one object per address, case-insensitive, unknown for never-seen', () => {
    const r = run(['--db', db, 'lookup', '--json', 'HEIDI@customer-h.example', 'nobody@else.example']);
    expect(r.code).toBe(0);
    const rs = JSON.parse(r.stdout);
    expect(rs).toHaveLength(2);
    expect(Object.keys(rs[0]).sort()).toEqual(['address', 'clients', 'keyChanged', 'lastSeen', 'reason', 'recommendation']);
    expect(rs[0].address).toBe('heidi@customer-h.example');
    expect(rs[0].clients[0]).toMatchObject({ family: 'mutt' });
    expect(Object.keys(rs[0].clients[0]).sort()).toEqual(['count', 'family', 'lastSeen', 'platform', 'product', 'smime', 'version']);
    expect(rs[1]).toMatchObject({ address: 'nobody@else.example', recommendation: 'unknown', clients: [] });
  });

  it('export writes the CSV to --out with the header row and one row per address', () => {
    const out = join(t.dir, 'all.csv');
    expect(run(['--db', db, 'export', '--out', out]).code).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('address,recommendation,family,product,version,smime,last_seen,messages,reason,key_changed');
    expect(lines).toHaveLength(1 + 15);
    const stdout = run(['--db', db, 'export', '--recommendation', 'do-not-sign']).stdout;
    expect(stdout.trimEnd().split('\r\n').slice(1).every((l) => l.split(',')[1] === 'do-not-sign')).toBe(true);
  });

  it('stats counts by recommendation and family', () => {
    const s = JSON.parse(run(['--db', db, 'stats', '--json']).stdout);
    expect(s.addresses).toBe(15);
    expect(s.byRecommendation.sign + s.byRecommendation['do-not-sign'] + s.byRecommendation.unknown).toBe(15);
  });

  it('user errors are one line with a code and a non-zero exit, never a stack trace', () => {
    const badPath = run(['--db', db, 'import', join(t.dir, 'missing.mbox')]);
    expect(badPath.code).toBe(4);
    expect(badPath.stderr).toMatch(/^smime-census: cannot read .*missing\.mbox.* \[E_INPUT\]$/m);
    expect(badPath.stderr).not.toMatch(/\n\s+at /);

    const cfg = join(t.dir, 'bad.yaml');
    writeFileSync(cfg, 'policy:\n  windowDays: zero\n');
    const badConfig = run(['--config', cfg, '--db', db, 'stats']);
    expect(badConfig.code).toBe(3);
    expect(badConfig.stderr).toMatch(/policy\.windowDays/);
    expect(badConfig.stderr).not.toMatch(/\n\s+at /);

    const unknownKey = join(t.dir, 'unknown.yaml');
    writeFileSync(unknownKey, 'ownDomain: [x.example]\n');
    expect(run(['--config', unknownKey, '--db', db, 'stats']).stderr).toMatch(/ownDomain/);

    const notDb = join(t.dir, 'not.db');
    writeFileSync(notDb, 'this is not sqlite');
    const badDb = run(['--db', notDb, 'stats']);
    expect(badDb.code).toBe(5);
    expect(badDb.stderr).toMatch(/E_DB/);

    const badEnv = run(['--db', db, 'stats'], { env: { CENSUS_WINDOW_DAYS: '12abc' } });
    expect(badEnv.code).toBe(3);
    expect(badEnv.stderr).toMatch(/CENSUS_WINDOW_DAYS/);

    expect(run(['--db', db, 'nonsense']).code).toBe(2);
  });

  it('show and forget (right of access and erasure)', () => {
    const shown = JSON.parse(run(['--db', db, 'show', 'grace@customer-g.example']).stdout);
    expect(shown.observations.length).toBe(1);
    expect(shown.observations[0].fingerprint['user-agent'][0]).toMatch(/Roundcube/);
    const f = JSON.parse(run(['--db', db, 'forget', 'grace@customer-g.example']).stdout);
    expect(f.rowsDeleted).toBeGreaterThan(0);
    expect(JSON.parse(run(['--db', db, 'show', 'grace@customer-g.example']).stdout)).toMatchObject({ state: null, observations: [] });
    const re = JSON.parse(run(['--db', db, 'import', '--json', DEMO], { env: { CENSUS_OWN_DOMAINS: 'our-company.example' } }).stdout);
    expect(re.skipped.erased).toBe(1);
  });
});

describe('read-only commands on a missing database', () => {
  it('stats, export, show, certs and recompute refuse a --db that does not exist (E_DB, exit 5) and create nothing', () => {
    const missing = join(t.dir, 'no-such-dir', 'census.db');
    for (const args of [['stats'], ['export'], ['show', 'a@example.test'], ['certs', 'a@example.test'], ['recompute'], ['lookup', 'a@example.test']]) {
      const r = run(['--db', missing, ...args]);
      expect(r.code, args.join(' ')).toBe(5);
      expect(r.stderr).toMatch(/^smime-census: no database at .*no-such-dir.*\[E_DB\]$/m);
      // before, stats (and the others) created the folder and an empty census, and printed zeros
      expect(existsSync(join(t.dir, 'no-such-dir')), args.join(' ')).toBe(false);
    }
  });
});
