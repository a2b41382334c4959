import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { GlobalOptions } from '../options.js';
import { AppError } from '../../core/index.js';
import { createLogger } from '../../app/index.js';
import { loadSigner, MAX_SIGN_MESSAGE_BYTES, type SignLogger } from '../../sign/index.js';

export interface SignCommandOptions {
  cert?: string;
  key?: string;
  chain?: string[];
  p12?: string;
  passphraseFile?: string;
}

/** The passphrase from --passphrase-file or CENSUS_SIGN_PASSPHRASE; never from argv. */
async function passphraseFrom(opts: SignCommandOptions, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (opts.passphraseFile) {
    try {
      // one trailing newline is how editors and `echo` save a secret, not part of it
      return (await readFile(opts.passphraseFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new AppError('E_SECRET', `cannot read the passphrase file ${opts.passphraseFile}`, { cause: e });
    }
  }
  return env.CENSUS_SIGN_PASSPHRASE;
}

async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_SIGN_MESSAGE_BYTES) throw new AppError('E_LIMIT', `the message on stdin exceeds ${MAX_SIGN_MESSAGE_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}

/**
 * `smime-census sign`: reads one RFC 5322 message, writes it S/MIME-signed. Exported for tests
 * (streams and environment injected).
 */
export async function runSign(opts: SignCommandOptions, io: { input: Readable; output: Writable; env: NodeJS.ProcessEnv; logger?: SignLogger }): Promise<void> {
  if (!opts.p12 && !(opts.cert && opts.key)) throw new AppError('E_USAGE', 'give --cert FILE and --key FILE, or --p12 FILE');
  if (opts.p12 && (opts.cert || opts.key)) throw new AppError('E_USAGE', '--p12 replaces --cert/--key; give one or the other');
  const passphrase = await passphraseFrom(opts, io.env);
  const signer = await loadSigner({
    certFile: opts.cert,
    keyFile: opts.key,
    chainFiles: opts.chain ?? [],
    p12File: opts.p12,
    passphrase,
    logger: io.logger,
  });
  const message = await readAll(io.input);
  const signed = signer.sign(message);
  await new Promise<void>((resolve, reject) => {
    io.output.write(signed, (err) => (err ? reject(err) : resolve()));
  });
}

/** Registers `smime-census sign`. */
export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('sign')
    .description('S/MIME-sign one message: RFC 5322 on stdin, multipart/signed on stdout (for senders other than nodemailer)')
    .option('--cert <file>', 'signing certificate (PEM; may also hold the chain)')
    .option('--key <file>', 'private key (PEM PKCS#8, optionally encrypted)')
    .option('--chain <file>', 'intermediate certificates (PEM); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--p12 <file>', 'PKCS#12 with key and certificate (instead of --cert/--key)')
    .option('--passphrase-file <file>', 'file holding the key/PKCS#12 passphrase (else env CENSUS_SIGN_PASSPHRASE; never on the command line)')
    .action(async (opts: SignCommandOptions) => {
      const logger = createLogger(globals().logLevel ?? process.env.CENSUS_LOG_LEVEL ?? 'info');
      await runSign(opts, { input: process.stdin, output: process.stdout, env: process.env, logger: logger.child({ component: 'sign' }) });
    });
}
