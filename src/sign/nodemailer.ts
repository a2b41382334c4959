/**
 * nodemailer integration: `transporter.use('stream', createSmimePlugin({ signer, census }))`.
 * Per message the plugin asks the census about the envelope recipients and, when the policy
 * says so, adds a stream transform that S/MIME-signs the finished message. Transforms run
 * before nodemailer's DKIM step, so DKIM signs the S/MIME message (the right order).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { AppError, type Recommendation } from '../core/index.js';
import { MAX_SIGN_MESSAGE_BYTES, type SignLogger, type Signer } from './signer.js';

/** What the plugin needs from the census; openCensus() and createCensusClient() satisfy it. */
export interface CensusRecommender {
  recommendMany(addresses: string[]): Promise<Array<{ address: string; recommendation: Recommendation }>>;
}

/** all: sign when every recipient's recommendation is `sign`; any: when at least one is; always: ignore the census. */
export type SignPolicy = 'all' | 'any' | 'always';
export const SIGN_POLICIES: readonly SignPolicy[] = ['all', 'any', 'always'];

export interface SmimePluginOptions {
  signer: Signer;
  /** Required unless policy is `always`. */
  census?: CensusRecommender;
  /** Default `all`. */
  policy?: SignPolicy;
  /** When the census cannot answer: send unsigned (default) or fail the send. */
  onCensusError?: 'send-unsigned' | 'fail';
  logger?: SignLogger;
}

export interface SmimePluginMetrics {
  signed: number;
  unsigned: number;
  censusErrors: number;
}

export type SmimePlugin = Mail.PluginFunction & { readonly metrics: Readonly<SmimePluginMetrics> };

/**
 * A Transform that buffers one whole message and emits it S/MIME-signed (the signature needs
 * the complete content). Over MAX_SIGN_MESSAGE_BYTES it fails with E_LIMIT instead of growing.
 */
export function createSmimeSignStream(signer: Signer): Transform {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > MAX_SIGN_MESSAGE_BYTES) return cb(new AppError('E_LIMIT', `the message exceeds ${MAX_SIGN_MESSAGE_BYTES} bytes and is not signed`));
      chunks.push(b);
      cb();
    },
    flush(cb: TransformCallback) {
      try {
        cb(null, signer.sign(Buffer.concat(chunks, size)));
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

/** Decides for one message; exported for the HTTP/CLI layers and tests. */
export async function decideSigning(
  recipients: readonly string[],
  policy: SignPolicy,
  census: CensusRecommender | undefined,
): Promise<{ sign: boolean; reason: string }> {
  if (policy === 'always') return { sign: true, reason: 'policy always' };
  if (!census) throw new AppError('E_CONFIG', `sign policy "${policy}" needs a census`);
  const addrs = [...new Set(recipients.map((r) => r.trim().toLowerCase()).filter((r) => r.length > 0))];
  if (addrs.length === 0) return { sign: false, reason: 'no recipients' };
  const answers = await census.recommendMany(addrs);
  const byAddr = new Map(answers.map((a) => [a.address.trim().toLowerCase(), a.recommendation]));
  // a recipient the census did not answer for counts as unknown, never as sign
  const recs = addrs.map((a) => byAddr.get(a) ?? 'unknown');
  const signCount = recs.filter((r) => r === 'sign').length;
  if (policy === 'all') return signCount === recs.length ? { sign: true, reason: 'every recipient: sign' } : { sign: false, reason: `${recs.length - signCount} of ${recs.length} recipients not sign` };
  return signCount > 0 ? { sign: true, reason: `${signCount} of ${recs.length} recipients: sign` } : { sign: false, reason: 'no recipient: sign' };
}

/**
 * The nodemailer 'stream' plugin. Adds nothing to messages the policy does not sign.
 * Throws E_CONFIG at creation for an invalid policy or a missing census.
 */
export function createSmimePlugin(options: SmimePluginOptions): SmimePlugin {
  const policy = options.policy ?? 'all';
  if (!SIGN_POLICIES.includes(policy)) throw new AppError('E_CONFIG', `sign policy must be one of ${SIGN_POLICIES.join(', ')}, not "${String(policy)}"`);
  if (policy !== 'always' && !options.census) throw new AppError('E_CONFIG', `sign policy "${policy}" needs a census`);
  const onCensusError = options.onCensusError ?? 'send-unsigned';
  const metrics: SmimePluginMetrics = { signed: 0, unsigned: 0, censusErrors: 0 };
  const plugin: Mail.PluginFunction = (mail, callback) => {
    const recipients = mail.message.getEnvelope().to ?? [];
    decideSigning(recipients, policy, options.census).then(
      (d) => {
        options.logger?.debug?.({ component: 'sign', sign: d.sign, reason: d.reason }, 'S/MIME signing decision');
        if (d.sign) {
          metrics.signed++;
          // a factory, so a re-read of the message gets a fresh buffer (nodemailer accepts both at runtime)
          mail.message.transform((() => createSmimeSignStream(options.signer)) as unknown as Transform);
        } else metrics.unsigned++;
        callback();
      },
      (e: unknown) => {
        metrics.censusErrors++;
        options.logger?.warn({ component: 'sign', err: e instanceof Error ? e.message : String(e) }, 'census lookup failed; message not signed');
        if (onCensusError === 'fail') return callback(new AppError('E_SIGN', 'the census could not be asked whether to sign', { cause: e }));
        metrics.unsigned++;
        callback();
      },
    );
  };
  return Object.assign(plugin, { metrics });
}
