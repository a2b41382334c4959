import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openTestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/tmp.js';
import { buildServer, tokensFrom } from '../../src/http/index.js';
import { importPaths, type AppContext } from '../../src/app/index.js';
import { loadSigner } from '../../src/sign/index.js';

let pki: TestPki;
let app: AppContext;
const t = tempDir('census-signer-health-');
beforeAll(async () => {
  pki = makeTestPki();
  app = openTestApp(t.dir, { sign: { trustedCaFiles: [pki.rootCertFile], chainFiles: [] } });
  // One harvested certificate, so the continuity counters exist.
  const content = join(pki.dir, 'hh.txt');
  writeFileSync(content, 'Content-Type: text/plain\r\n\r\nhi\r\n');
  const msg = pki.openssl(['cms', '-sign', '-in', content, '-signer', pki.rsa.certFile, '-inkey', pki.rsa.keyFile, '-certfile', pki.interCertFile, '-from', pki.rsa.email, '-subject', 'x']);
  writeFileSync(join(t.dir, 'signed.eml'), Buffer.concat([Buffer.from('Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <hh1@x>\r\n'), msg]));
  await importPaths(app, [join(t.dir, 'signed.eml')]);
}, 60_000);
afterAll(() => {
  app?.close();
  pki?.cleanup();
  t.cleanup();
});

describe('signing certificate expiry and harvesting in /healthz and /metrics', () => {
  it('warns from 30 days before the signing certificate expires', async () => {
    const signer = await loadSigner({ certFile: pki.expiringSoon.certFile, keyFile: pki.expiringSoon.keyFile, chainFiles: [pki.interCertFile] });
    const server = await buildServer({ app, tokens: tokensFrom({ read: 'r'.repeat(32) }), publicDir: null, signer: () => signer.status() });
    try {
      const h = (await server.inject('/healthz')).json();
      expect(h.status).toBe('ok');
      expect(h.signer).toMatchObject({ expiringSoon: true });
      expect(h.signer.daysLeft).toBeLessThanOrEqual(10);
      const m = (await server.inject({ url: '/metrics', headers: { authorization: `Bearer ${'r'.repeat(32)}` } })).body;
      expect(m).toMatch(/^smime_census_signer_certificate_expiring 1$/m);
      expect(m).toMatch(/^smime_census_signer_certificate_days_left \d+$/m);
      expect(m).toMatch(/^smime_census_certificates_harvested_total\{continuity="first-seen"\} 1$/m);
    } finally {
      await server.close();
    }
  });

  it('a valid certificate is not flagged; without a signer nothing is shown', async () => {
    const signer = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
    const server = await buildServer({ app, tokens: tokensFrom({}), publicDir: null, signer: () => signer.status() });
    const bare = await buildServer({ app, tokens: tokensFrom({}), publicDir: null });
    try {
      expect((await server.inject('/healthz')).json().signer).toMatchObject({ expiringSoon: false });
      expect((await server.inject('/metrics')).body).toMatch(/^smime_census_signer_certificate_expiring 0$/m);
      expect((await bare.inject('/healthz')).json().signer).toBeUndefined();
      expect((await bare.inject('/metrics')).body).not.toMatch(/signer_certificate/);
    } finally {
      await server.close();
      await bare.close();
    }
  });
});
