import { readFile } from 'node:fs/promises';
import { AppError } from '../core/index.js';
import type { Config } from '../config/index.js';
import type { Signer, SignLogger } from '../sign/index.js';

/**
 * The configured outbound signer (config `sign`), or null when none is configured: watched for
 * expiry by `serve` (/healthz, /metrics) and used by the relay. Secrets come from files or env only.
 */
export async function configuredSigner(config: Config, logger?: SignLogger): Promise<Signer | null> {
  const c = config.sign;
  if (!c.p12File && !(c.certFile && c.keyFile)) return null;
  let passphrase: string | undefined;
  if (c.passphraseFile) {
    try {
      passphrase = (await readFile(c.passphraseFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new AppError('E_SECRET', `cannot read sign.passphraseFile ${c.passphraseFile}`, { cause: e });
    }
  } else if (c.passphraseEnv) passphrase = process.env[c.passphraseEnv];
  const { loadSigner } = await import('../sign/index.js');
  return loadSigner({ certFile: c.certFile, keyFile: c.keyFile, chainFiles: c.chainFiles, p12File: c.p12File, passphrase, logger });
}
