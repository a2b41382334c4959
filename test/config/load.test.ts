/**
 * loadConfig: precedence (defaults < config file < environment < flags) for a path, a number and
 * a boolean key; relative paths in a config file resolved against its folder for every path key
 * of the table (sign.* included: issue 11); a bad value names its key and where it was set.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, CONFIG_KEYS } from '../../src/config/index.js';
import { isAppError } from '../../src/core/index.js';
import { tempDir } from '../helpers/tmp.js';

const t = tempDir('census-config-');
afterAll(() => t.cleanup());

let n = 0;
/** A config file in its own folder (so relative paths have a folder to be relative to). */
function configFile(text: string): { file: string; dir: string } {
  const dir = join(t.dir, `c${++n}`, 'etc');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'census.yaml');
  writeFileSync(file, text);
  return { file, dir };
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isAppError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

describe('config precedence: defaults < file < environment < flags', () => {
  const { file, dir } = configFile('db: data/from-file.db\nhttp: { port: 9001 }\nserve: { poll: false }\n');

  it('a path key (db): the file value is resolved against the file, the environment and a flag are taken as given', () => {
    expect(loadConfig({ env: {} }).db).toBe('./data/census.db');
    expect(loadConfig({ configFile: file, env: {} }).db).toBe(join(dir, 'data/from-file.db'));
    expect(loadConfig({ configFile: file, env: { CENSUS_DB: 'env.db' } }).db).toBe('env.db');
    expect(loadConfig({ configFile: file, env: { CENSUS_DB: 'env.db' }, flags: { db: 'flag.db' } }).db).toBe('flag.db');
    // An empty variable is unset, not a database named "".
    expect(loadConfig({ configFile: file, env: { CENSUS_DB: '' } }).db).toBe(join(dir, 'data/from-file.db'));
  });

  it('a number key (http.port)', () => {
    expect(loadConfig({ env: {} }).http.port).toBe(8025);
    expect(loadConfig({ configFile: file, env: {} }).http.port).toBe(9001);
    expect(loadConfig({ configFile: file, env: { CENSUS_HTTP_PORT: '9002' } }).http.port).toBe(9002);
    expect(loadConfig({ configFile: file, env: { CENSUS_HTTP_PORT: '9002' }, flags: { 'http.port': '9003' } }).http.port).toBe(9003);
  });

  it('a boolean key (serve.poll)', () => {
    expect(loadConfig({ env: {} }).serve.poll).toBe(true);
    expect(loadConfig({ configFile: file, env: {} }).serve.poll).toBe(false);
    expect(loadConfig({ configFile: file, env: { CENSUS_SERVE_POLL: 'true' } }).serve.poll).toBe(true);
    expect(loadConfig({ configFile: file, env: { CENSUS_SERVE_POLL: 'true' }, flags: { 'serve.poll': false } }).serve.poll).toBe(false);
  });

  it('CENSUS_CONFIG names the file when --config does not, and --config wins over it', () => {
    const other = configFile('http: { port: 7000 }\n');
    expect(loadConfig({ env: { CENSUS_CONFIG: file } }).http.port).toBe(9001);
    expect(loadConfig({ configFile: other.file, env: { CENSUS_CONFIG: file } }).http.port).toBe(7000);
  });
});

describe('relative paths in a config file are relative to its folder', () => {
  it('for every path key of the table, sign.* included (issue 11: sign.* stayed relative to the working directory)', () => {
    const { file, dir } = configFile(
      [
        'sign:',
        '  certFile: keys/signer.pem',
        '  keyFile: keys/signer.key',
        '  chainFiles: [keys/inter.pem, keys/root.pem]',
        '  p12File: keys/signer.p12',
        '  passphraseFile: keys/pass.txt',
        '  trustedCaFiles: [cas/customer-ca.pem]',
      ].join('\n') + '\n',
    );
    const c = loadConfig({ configFile: file, env: {} });
    expect(c.sign).toEqual({
      certFile: join(dir, 'keys/signer.pem'),
      keyFile: join(dir, 'keys/signer.key'),
      chainFiles: [join(dir, 'keys/inter.pem'), join(dir, 'keys/root.pem')],
      p12File: join(dir, 'keys/signer.p12'),
      passphraseFile: join(dir, 'keys/pass.txt'),
      trustedCaFiles: [join(dir, 'cas/customer-ca.pem')],
    });
  });

  it('in lists of objects and nested blocks (accounts[].auth, relay.tls), absolute paths and database URLs untouched', () => {
    const { file, dir } = configFile(
      [
        'db: postgres://census@127.0.0.1:5432/census',
        'erasureKeyFile: /etc/census/erasure.key',
        'rulesDirs: [rules, /opt/rules]',
        'accounts:',
        '  - { host: imap.example.test, user: a, passwordFile: secrets/a, caFile: ca.pem }',
        '  - host: imap.example.test',
        '    user: b',
        '    auth: { type: oauth2, provider: google, grant: refresh_token, clientId: x, clientSecretFile: secrets/cs, tokenFile: tokens/b.json }',
        'http: { readTokenFile: secrets/read }',
        'relay: { upstream: "smtp://127.0.0.1:25", tls: { certFile: tls/cert.pem, keyFile: tls/key.pem }, dkim: { domain: example.test, selector: s1, keyFile: dkim.key } }',
      ].join('\n') + '\n',
    );
    const c = loadConfig({ configFile: file, env: {} });
    expect(c.db).toBe('postgres://census@127.0.0.1:5432/census');
    expect(c.erasureKeyFile).toBe('/etc/census/erasure.key');
    expect(c.rulesDirs).toEqual([join(dir, 'rules'), '/opt/rules']);
    expect(c.accounts[0]).toMatchObject({ passwordFile: join(dir, 'secrets/a'), caFile: join(dir, 'ca.pem') });
    expect(c.accounts[1]!.auth).toMatchObject({ clientSecretFile: join(dir, 'secrets/cs'), tokenFile: join(dir, 'tokens/b.json') });
    expect(c.http.readTokenFile).toBe(join(dir, 'secrets/read'));
    expect(c.relay!.tls).toEqual({ certFile: join(dir, 'tls/cert.pem'), keyFile: join(dir, 'tls/key.pem') });
    expect(c.relay!.dkim!.keyFile).toBe(join(dir, 'dkim.key'));
  });

  it('every path key of the table is resolved (a file setting each of them)', () => {
    const { file, dir } = configFile(
      [
        'db: census.db',
        'erasureKeyFile: erasure.key',
        'rulesDirs: [rules]',
        'accounts:',
        '  - { host: h, user: a, passwordFile: s/password, caFile: s/ca.pem }',
        '  - { host: h, user: b, accessTokenFile: s/token }',
        '  - host: h',
        '    user: c',
        '    auth: { type: oauth2, provider: microsoft, tenantId: t.example, grant: client_credentials, clientId: x, certificateFile: s/c.pem, privateKeyFile: s/c.key }',
        '  - { host: h, user: d, auth: { type: oauth2, provider: google, grant: jwt_bearer, serviceAccountKeyFile: s/sa.json } }',
        '  - { host: h, user: e, auth: { type: oauth2, provider: generic, tokenUrl: "https://127.0.0.1/t", scope: s, grant: refresh_token, clientId: x, clientSecretFile: s/cs, tokenFile: s/rt.json } }',
        'http: { readTokenFile: s/read, adminTokenFile: s/admin }',
        'sign: { certFile: k/c.pem, keyFile: k/c.key, chainFiles: [k/i.pem], p12File: k/c.p12, passphraseFile: k/pass, trustedCaFiles: [k/ca.pem] }',
        'relay:',
        '  upstream: "smtp://127.0.0.1:25"',
        '  upstreamPasswordFile: r/pw',
        '  upstreamCaFile: r/ca.pem',
        '  usersFile: r/users',
        '  dkim: { domain: example.test, selector: s1, keyFile: r/dkim.key }',
        '  tls: { certFile: r/tls.pem, keyFile: r/tls.key }',
      ].join('\n') + '\n',
    );
    const c = loadConfig({ configFile: file, env: {} }) as unknown as Record<string, unknown>;
    /** Every value at a table key (`accounts[].caFile`: one per account that has it). */
    const valuesAt = (node: unknown, segs: string[]): unknown[] => {
      if (segs.length === 0) return node === undefined ? [] : Array.isArray(node) ? node : [node];
      if (typeof node !== 'object' || node === null) return [];
      const [seg, ...rest] = segs as [string, ...string[]];
      const next = (node as Record<string, unknown>)[seg.replace(/\[\]$/, '')];
      return seg.endsWith('[]') ? (Array.isArray(next) ? next.flatMap((el) => valuesAt(el, rest)) : []) : valuesAt(next, rest);
    };
    const pathKeys = CONFIG_KEYS.filter((k) => k.type === 'path' || k.type === 'path list');
    expect(pathKeys.length).toBeGreaterThanOrEqual(25);
    for (const k of pathKeys) {
      const values = valuesAt(c, k.key.split('.'));
      expect(values.length, `${k.key} is set by this test's file`).toBeGreaterThan(0);
      for (const v of values) expect(String(v).startsWith(dir + '/'), `${k.key} = ${String(v)}`).toBe(true);
    }
  });
});

describe('a bad value names its key and where it was set', () => {
  it('in the config file: the file and the dotted key', () => {
    const { file } = configFile('policy:\n  windowDays: 0\n');
    const e = errorOf(() => loadConfig({ configFile: file, env: {} }));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toContain(`${file}: policy.windowDays:`);
  });

  it('in a list of objects: the index is part of the key', () => {
    const { file } = configFile('accounts:\n  - { host: h, user: u, passwordFile: p, connections: 0 }\n');
    expect(errorOf(() => loadConfig({ configFile: file, env: {} })).message).toContain('accounts.0.connections');
  });

  it('in the environment: the variable, and the key when the schema refuses the value', () => {
    expect(errorOf(() => loadConfig({ env: { CENSUS_WINDOW_DAYS: '12abc' } }))).toEqual({ code: 'E_CONFIG', message: 'CENSUS_WINDOW_DAYS: must be a whole number, got "12abc"' });
    expect(errorOf(() => loadConfig({ env: { CENSUS_SERVE_POLL: 'yes' } }))).toEqual({ code: 'E_CONFIG', message: 'CENSUS_SERVE_POLL: must be true or false, got "yes"' });
    const range = errorOf(() => loadConfig({ env: { CENSUS_HTTP_PORT: '70000' } }));
    expect(range.code).toBe('E_CONFIG');
    expect(range.message).toMatch(/^CENSUS_HTTP_PORT: http\.port: /);
    expect(errorOf(() => loadConfig({ env: { CENSUS_POLICY: 'loose' } })).message).toMatch(/^CENSUS_POLICY: policy\.mode: /);
  });

  it('on the command line: the flag, as a usage error', () => {
    expect(errorOf(() => loadConfig({ env: {}, flags: { 'http.port': '80x' } }))).toEqual({ code: 'E_USAGE', message: '--port: must be a whole number, got "80x"' });
    const range = errorOf(() => loadConfig({ env: {}, flags: { 'http.port': '70000' } }));
    expect(range.code).toBe('E_USAGE');
    expect(range.message).toMatch(/^--port: http\.port: /);
    expect(errorOf(() => loadConfig({ env: {}, flags: { logLevel: 'loud' } })).message).toMatch(/^--log-level: logLevel: /);
  });

  it('an unknown key is named, not ignored', () => {
    const { file } = configFile('sign: { certfile: a.pem }\n');
    expect(errorOf(() => loadConfig({ configFile: file, env: {} })).message).toMatch(/sign.*certfile/);
  });
});
