/**
 * The test harness writes Dovecot's configuration for the version `dovecot --version` reports
 * (brief: "write configs for what --version reports"). Debian 12 ships 2.3, whose path the IMAP
 * and OAuth2 tests run against a real server; 2.4 changed the syntax and, for OAuth2, the shape
 * (no oauth2 passdb: the mechanisms read the `oauth2 { }` settings filter), so its generated
 * text is checked here without a server.
 */
import { describe, expect, it } from 'vitest';
import { DovecotUnavailableError, dovecotConfigFiles, type ConfParams } from '../../helpers/dovecot.js';

const params = (oauth2 = true): ConfParams => ({
  dir: '/tmp/dc',
  host: '127.0.0.1',
  port: 10993,
  plainPort: 10143,
  certFile: '/tmp/dc/cert.pem',
  keyFile: '/tmp/dc/key.pem',
  owner: { uid: 1000, gid: 1000, name: 'mail', group: 'mail' },
  homeRoot: '/tmp/dc/home',
  sasl: false,
  ...(oauth2 ? { oauth2: { introspectionUrl: 'http://introspector:s3cret@127.0.0.1:4000/token/introspection' } } : {}),
});

/** The `name { ... }` blocks at the top level of a config text, by header line. */
function topBlocks(conf: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = conf.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\S[^{]*?)\s*\{\s*$/.exec(lines[i]!);
    if (!m) continue;
    let depth = 1;
    const body: string[] = [];
    for (i++; i < lines.length && depth > 0; i++) {
      const l = lines[i]!;
      depth += (l.match(/\{\s*$/) ? 1 : 0) - (/^\s*\}\s*$/.test(l) ? 1 : 0);
      if (depth > 0) body.push(l.trim());
    }
    i--;
    out.set(m[1]!, (out.has(m[1]!) ? out.get(m[1]!) + '\n' : '') + body.join('\n'));
  }
  return out;
}

describe('Dovecot configuration by version', () => {
  it('2.3: token logins through an oauth2 passdb whose introspection settings are in their own file', () => {
    const files = dovecotConfigFiles('2.3.19.1 (9b53102964)', params());
    expect(Object.keys(files).sort()).toEqual(['dovecot-oauth2.conf.ext', 'dovecot.conf']);
    const conf = files['dovecot.conf']!;
    expect(conf).toMatch(/^auth_mechanisms = plain login xoauth2 oauthbearer$/m);
    expect(conf).toMatch(/^mail_location = maildir:~\/Maildir$/m);
    expect(conf).not.toMatch(/dovecot_config_version|^oauth2 \{/m);
    const passdb = topBlocks(conf).get('passdb')!;
    expect(passdb).toContain('driver = oauth2');
    expect(passdb).toContain('mechanisms = xoauth2 oauthbearer');
    expect(passdb).toContain('args = /tmp/dc/dovecot-oauth2.conf.ext');
    expect(files['dovecot-oauth2.conf.ext']!.split('\n')).toEqual([
      'introspection_mode = post',
      'introspection_url = http://introspector:s3cret@127.0.0.1:4000/token/introspection',
      'username_attribute = email',
      'active_attribute = active',
      'active_value = true',
      '',
    ]);
  });

  it('2.4: dovecot_config_version first, named passdb/userdb, mail_driver/mail_path, and the oauth2 settings filter instead of an oauth2 passdb', () => {
    const files = dovecotConfigFiles('2.4.1-4 (7d8c0e5759)', params());
    expect(Object.keys(files)).toEqual(['dovecot.conf']);
    const conf = files['dovecot.conf']!;
    const settings = conf.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(settings[0]).toBe('dovecot_config_version = 2.4.0');
    expect(conf).toMatch(/^dovecot_storage_version = /m);
    expect(conf).toMatch(/^mail_driver = maildir$/m);
    expect(conf).toMatch(/^mail_path = ~\/Maildir$/m);
    expect(conf).toMatch(/^auth_mechanisms = plain login xoauth2 oauthbearer$/m);
    // 2.3 names that 2.4 refuses
    for (const old of [/^mail_location/m, /^ssl_cert\b/m, /^disable_plaintext_auth/m, /^\s*args = /m, /^\s*driver = /m, /%u\b/]) expect(conf).not.toMatch(old);
    const blocks = topBlocks(conf);
    expect([...blocks.keys()].filter((k) => k.startsWith('passdb') || k.startsWith('userdb'))).toEqual(['passdb passwd-file', 'userdb static']);
    expect(blocks.get('oauth2')!.split('\n')).toEqual([
      'introspection_mode = post',
      'introspection_url = http://introspector:s3cret@127.0.0.1:4000/token/introspection',
      'username_attribute = email',
      'active_attribute = active',
      'active_value = true',
    ]);
    expect(conf).toMatch(/^auth_failure_delay = 0$/m);
  });

  it('without OAuth2 neither version mentions it; an unknown series is refused with a clear error', () => {
    for (const v of ['2.3.19.1', '2.4.0']) {
      const files = dovecotConfigFiles(v, params(false));
      expect(Object.keys(files)).toEqual(['dovecot.conf']);
      expect(files['dovecot.conf']).not.toMatch(/oauth/i);
    }
    expect(() => dovecotConfigFiles('2.2.36', params())).toThrow(DovecotUnavailableError);
    expect(() => dovecotConfigFiles('2.2.36', params())).toThrow(/2\.3 or 2\.4 needed/);
  });
});
