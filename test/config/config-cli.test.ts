/**
 * The configuration as the built CLI uses it: precedence on the command line (`config check`
 * prints the effective config), and a relative `sign.trustedCaFiles` in a config file read from
 * the file's folder when the CLI runs elsewhere (issue 11: sign.* paths were left relative to the
 * working directory, so a harvested certificate was not trusted, or the import failed).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

const CLI = builtCli();
const t = tempDir('census-config-cli-');
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
}, 120_000);
afterAll(() => {
  pki?.cleanup();
  t.cleanup();
});

function run(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  // The caller's environment must not leak configuration into the test.
  const env: Record<string, string | undefined> = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENSUS_')));
  Object.assign(env, opts.env);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, encoding: 'utf8', env, timeout: 60_000 });
  return noStackOnFailure({ code: r.status, stdout: r.stdout, stderr: r.stderr }, env);
}

describe('configuration through the CLI', () => {
  it('config check: a flag beats the environment, which beats the file, which beats the default', () => {
    const etc = join(t.dir, 'precedence', 'etc');
    const work = join(t.dir, 'precedence', 'work');
    mkdirSync(etc, { recursive: true });
    mkdirSync(work, { recursive: true });
    const cfg = join(etc, 'census.yaml');
    writeFileSync(cfg, 'db: data/file.db\nlogLevel: error\npolicy: { windowDays: 30 }\n');
    const check = (args: string[], env: Record<string, string> = {}) => {
      const r = run([...args, 'config', 'check', '--no-login'], { cwd: work, env });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { db: string; logLevel: string; policy: { windowDays: number } };
    };
    expect(check([])).toMatchObject({ db: './data/census.db', policy: { windowDays: 180 } });
    expect(check(['--config', cfg])).toMatchObject({ db: join(etc, 'data/file.db'), logLevel: 'error', policy: { windowDays: 30 } });
    expect(check(['--config', cfg], { CENSUS_DB: 'env.db', CENSUS_WINDOW_DAYS: '60', CENSUS_LOG_LEVEL: 'warn' })).toMatchObject({ db: 'env.db', logLevel: 'warn', policy: { windowDays: 60 } });
    expect(check(['--config', cfg, '--db', 'flag.db', '--log-level', 'fatal'], { CENSUS_DB: 'env.db', CENSUS_LOG_LEVEL: 'warn' })).toMatchObject({ db: 'flag.db', logLevel: 'fatal' });
  });

  it('a bad line in the config file names the file and the key (exit 3, no stack)', () => {
    const dir = join(t.dir, 'bad');
    mkdirSync(dir, { recursive: true });
    const cfg = join(dir, 'census.yaml');
    writeFileSync(cfg, 'sign:\n  trustedCaFiles: ca.pem\n');
    const r = run(['--config', cfg, 'config', 'check', '--no-login'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${cfg}: sign.trustedCaFiles:`);
  });

  it('sign.trustedCaFiles relative to the config file: a customer certificate from that CA is trusted when the CLI runs elsewhere', () => {
    const etc = join(t.dir, 'harvest', 'etc');
    const work = join(t.dir, 'harvest', 'work');
    mkdirSync(join(etc, 'cas'), { recursive: true });
    mkdirSync(work, { recursive: true });
    copyFileSync(pki.rootCertFile, join(etc, 'cas', 'customer-root.pem'));
    const cfg = join(etc, 'census.yaml');
    writeFileSync(cfg, 'db: census.db\nsign:\n  trustedCaFiles: [cas/customer-root.pem]\n');

    const content = join(pki.dir, 'config-cli-content.txt');
    writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nA question about my invoice.\r\n');
    const signed = pki.openssl(['cms', '-sign', '-in', content, '-signer', pki.rsa.certFile, '-inkey', pki.rsa.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256', '-from', pki.rsa.email, '-to', 'support@company.test', '-subject', 'Question']);
    const eml = join(work, 'signed.eml');
    writeFileSync(eml, Buffer.concat([Buffer.from('Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <config-cli-1@customer.test>\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0\r\n'), signed]));

    const imported = run(['--config', cfg, 'import', '--json', 'signed.eml'], { cwd: work });
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ stored: 1 });
    const certs = run(['--config', cfg, 'certs', '--json', pki.rsa.email], { cwd: work });
    expect(certs.code, certs.stderr).toBe(0);
    const { certificates } = JSON.parse(certs.stdout) as { certificates: Array<{ trusted: string }> };
    expect(certificates).toHaveLength(1);
    expect(certificates[0]!.trusted).toBe('configured');
  });
});
