import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runSign } from '../../src/cli/commands/sign.js';
import { P12_PASSPHRASE } from '../helpers/pki.js';
import { withSigningPki } from './helpers.js';
import { builtCli } from '../helpers/built.js';

const { pki, verified } = withSigningPki();

const OK = { openssl: null, gpgsm: null };

const MESSAGE = 'From: Alice <alice@example.test>\nTo: bob@customer.test\nSubject: Grüße\n\nHallo Bob, schöne Grüße.\n';

async function run(opts: Parameters<typeof runSign>[0], env: NodeJS.ProcessEnv = {}, input = MESSAGE): Promise<Buffer> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  await runSign(opts, { input: Readable.from([Buffer.from(input)]), output, env });
  return Buffer.concat(chunks);
}

describe('smime-census sign', () => {
  it('signs stdin with --cert/--key/--chain; openssl verifies the output', async () => {
    const out = await run({ cert: pki.rsa.certFile, key: pki.rsa.keyFile, chain: [pki.interCertFile] });
    expect(verified(out)).toEqual(OK);
  });

  it('takes the PKCS#12 passphrase from CENSUS_SIGN_PASSPHRASE or --passphrase-file (trailing newline ignored)', async () => {
    expect(verified(await run({ p12: pki.rsaP12File }, { CENSUS_SIGN_PASSPHRASE: P12_PASSPHRASE }))).toEqual(OK);
    const file = join(pki.dir, 'pass.txt');
    writeFileSync(file, P12_PASSPHRASE + '\n');
    expect(verified(await run({ p12: pki.rsaP12File, passphraseFile: file }))).toEqual(OK);
  });

  it('usage and certificate errors carry their codes', async () => {
    await expect(run({ cert: pki.rsa.certFile })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(run({ p12: pki.rsaP12File, cert: pki.rsa.certFile })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(run({ p12: pki.rsaP12File })).rejects.toMatchObject({ code: 'E_SECRET' });
    await expect(run({ p12: pki.rsaP12File, passphraseFile: join(pki.dir, 'missing') })).rejects.toMatchObject({ code: 'E_SECRET' });
    await expect(run({ cert: pki.expired.certFile, key: pki.expired.keyFile })).rejects.toMatchObject({ code: 'E_CERT' });
  });

  const cli = builtCli();
  it.runIf(existsSync(cli))('as a real process (built CLI): stdout verifies, exit 7 on E_CERT, passphrase not needed in argv', () => {
    const ok = spawnSync(process.execPath, [cli, 'sign', '--p12', pki.rsaP12File], { input: MESSAGE, env: { ...process.env, CENSUS_SIGN_PASSPHRASE: P12_PASSPHRASE } });
    expect(ok.status, ok.stderr.toString()).toBe(0);
    expect(verified(ok.stdout)).toEqual(OK);
    const bad = spawnSync(process.execPath, [cli, 'sign', '--cert', pki.otherAddress.certFile, '--key', pki.otherAddress.keyFile], { input: MESSAGE });
    expect(bad.status).toBe(7);
    expect(bad.stderr.toString()).toContain('[E_CERT]');
    expect(bad.stdout.length).toBe(0);
  });
});
