/**
 * The signing relay: an SMTP submission server (smtp-server) for the company's applications.
 * Per envelope recipient it asks the census, signs one copy for the `sign` recipients, leaves
 * the application's bytes untouched for the others, and hands every copy to the upstream MTA
 * while the client waits. The client hears 250 only when the upstream accepted every copy;
 * nothing is queued here, so a crash at any point leaves the mail with the client.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { AppError, type Recommendation } from '../core/index.js';
import type { RelayConfig } from '../config/index.js';
import type { CensusRecommender, Signer } from '../sign/index.js';
import type { Logger } from '../app/index.js';
import { planRecipients } from './decide.js';
import { RelayMetrics } from './metrics.js';
import { createUpstream, readUpstreamSecrets, type CopyResult, type Upstream } from './upstream.js';
import { loadUsers, type UserDb } from './users.js';

/** How long recipients already accepted upstream are remembered for a transaction we answered 4xx (the client's retry skips them). */
export const RETRY_MEMORY_MS = 6 * 3_600_000;
/** Bound on that memory: past it the oldest entries go (a retry then may deliver twice, never lose). */
export const RETRY_MEMORY_ENTRIES = 10_000;
/** A signing failure of the same kind is logged at most this often (not once per message). */
export const SIGN_ERROR_LOG_INTERVAL_MS = 60_000;
/** Upstream health older than this is probed again by status(). */
const UPSTREAM_CHECK_MS = 30_000;

export interface RelayOptions {
  config: RelayConfig;
  /** Needed unless mode is `never`. */
  signer: Signer | null;
  /** Needed for mode `recommended`. */
  census: CensusRecommender | null;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface RelayStatus {
  listening: boolean;
  host: string;
  port: number;
  mode: RelayConfig['mode'];
  connections: number;
  upstream: { url: string; reachable: boolean | null; checkedAt: string | null; lastError: string | null };
}

export interface Relay {
  readonly host: string;
  readonly port: number;
  readonly metrics: RelayMetrics;
  /** Health for /healthz; probes the upstream when the last word from it is older than 30 s. */
  status(): Promise<RelayStatus>;
  /** Stops accepting, lets open transactions finish (up to closeTimeout), closes the upstream pool. */
  close(): Promise<void>;
}

/** SMTP reply as an error smtp-server understands. */
function reply(code: number, text: string): Error & { responseCode: number } {
  const e = new Error(text) as Error & { responseCode: number };
  e.responseCode = code;
  return e;
}

function isLoopback(ip: string): boolean {
  const a = ip.replace(/^::ffff:/, '');
  return a === '::1' || /^127\./.test(a);
}

/** Loopback needs nothing; beyond it, STARTTLS with AUTH users or an allow-list of client networks. */
export function assertSafeRelayListener(config: RelayConfig): void {
  if (config.usersFile && !config.tls) throw new AppError('E_CONFIG', 'relay.usersFile needs relay.tls: passwords are only accepted after STARTTLS');
  const host = config.listen.host;
  const loopback = host === 'localhost' || (isIP(host) !== 0 && isLoopback(host));
  if (config.allowNetworks.length === 0 && !config.usersFile) throw new AppError('E_CONFIG', 'relay.allowNetworks is empty and there is no relay.usersFile: no client could submit');
  if (loopback) return;
  const remoteNetworks = config.allowNetworks.filter((n) => !isLoopback(n.split('/')[0]!));
  if ((config.tls && config.usersFile) || remoteNetworks.length > 0) return;
  throw new AppError('E_CONFIG', `relay.listen.host ${host} is not loopback: set relay.tls and relay.usersFile (SMTP AUTH), or list the client networks in relay.allowNetworks`);
}

function allowList(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const n of networks) {
    const [addr, bits] = n.split('/');
    const type = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

/** Answers for the recipients who accepted-before, keyed by the transaction's content hash. */
class RetryMemory {
  private readonly entries = new Map<string, { accepted: Set<string>; until: number }>();
  get(key: string, now: number): Set<string> | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.until <= now) {
      this.entries.delete(key);
      return null;
    }
    return e.accepted;
  }
  remember(key: string, accepted: Iterable<string>, now: number): void {
    const prev = this.get(key, now) ?? new Set<string>();
    for (const a of accepted) prev.add(a.toLowerCase());
    this.entries.delete(key);
    this.entries.set(key, { accepted: prev, until: now + RETRY_MEMORY_MS });
    while (this.entries.size > RETRY_MEMORY_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
  forget(key: string): void {
    this.entries.delete(key);
  }
}

async function readMessage(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    // past the limit keep draining (the client must reach the final dot) but keep nothing
    if (stream.sizeExceeded) continue;
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks, size);
}

/** The first upstream reply among refusals: temporary beats permanent (the retry may still succeed). */
function worstRefusal(refused: CopyResult['refused']): { code: number; text: string } {
  const temp = refused.find((r) => r.code === null || r.code < 500);
  if (temp) return temp.code === null ? { code: 451, text: `4.4.1 upstream MTA unavailable, try again later (${temp.text})` } : { code: temp.code, text: `upstream: ${temp.text}` };
  const perm = refused[0]!;
  return { code: perm.code ?? 554, text: `upstream: ${perm.text}` };
}

/**
 * Starts the relay listener. Throws E_CONFIG for an unsafe or incomplete configuration (before
 * binding), E_SECRET for unreadable secrets.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { config, signer, census } = options;
  const log = options.logger.child({ component: 'relay' });
  assertSafeRelayListener(config);
  if (config.mode !== 'never' && !signer) throw new AppError('E_CONFIG', `relay.mode ${config.mode} needs a signer: configure sign.certFile/keyFile or sign.p12File`);
  if (config.mode === 'recommended' && !census) throw new AppError('E_CONFIG', 'relay.mode recommended needs the census database');
  const users: UserDb | null = config.usersFile ? loadUsers(config.usersFile) : null;
  let tls: { key: Buffer; cert: Buffer } | null = null;
  if (config.tls) {
    try {
      tls = { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile) };
    } catch (e) {
      throw new AppError('E_SECRET', 'cannot read relay.tls.certFile/keyFile', { cause: e });
    }
  }
  const upstream: Upstream = createUpstream(config, readUpstreamSecrets(config, options.env ?? process.env));
  const allowed = allowList(config.allowNetworks);
  const metrics = new RelayMetrics();
  const retries = new RetryMemory();
  const signLogAt = new Map<string, number>();
  let upstreamState: { reachable: boolean; at: number; error: string | null } | null = null;

  const mayRelay = (session: SMTPServerSession): boolean => {
    if (session.user) return true;
    const ip = session.remoteAddress.replace(/^::ffff:/, '');
    return allowed.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  };

  /** Logs a signing failure once per kind and minute; counts every one. */
  const signFailed = (e: AppError): void => {
    const now = Date.now();
    const last = signLogAt.get(e.code) ?? 0;
    if (now - last >= SIGN_ERROR_LOG_INTERVAL_MS) {
      signLogAt.set(e.code, now);
      log.error({ code: e.code, err: e.message, onSignError: config.onSignError }, 'cannot sign with the configured certificate');
    }
  };

  async function recommendations(recipients: readonly string[]): Promise<Map<string, Recommendation>> {
    const map = new Map<string, Recommendation>();
    if (config.mode !== 'recommended' || recipients.length === 0) return map;
    const answers = await census!.recommendMany(recipients.map((r) => r.toLowerCase()));
    for (const a of answers) map.set(a.address.toLowerCase(), a.recommendation);
    return map;
  }

  async function relay(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const env = session.envelope;
    const from = env.mailFrom ? env.mailFrom.address : '';
    const all = env.rcptTo.map((r) => r.address);
    const key = createHash('sha256').update(from).update('\0').update(all.join('\0').toLowerCase()).update('\0').update(raw).digest('base64');
    const done = retries.get(key, Date.now());
    const pending = done ? all.filter((r) => !done.has(r.toLowerCase())) : all;
    if (pending.length === 0) {
      retries.forget(key);
      metrics.counters.relayed++;
      return `2.0.0 Ok: already accepted upstream for every recipient`;
    }

    let recs: Map<string, Recommendation>;
    try {
      recs = await recommendations(pending);
    } catch (e) {
      metrics.refuse('census');
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'census lookup failed; deferring the message');
      throw reply(451, '4.3.0 the census cannot be asked right now, try again later');
    }
    const plan = planRecipients(pending, config.mode, config.unknown, recs);
    let signed: Buffer | null = null;
    if (plan.sign.length > 0) {
      try {
        // the private-key operation runs on the thread pool: other sessions keep being served meanwhile
        signed = await signer!.signAsync(raw);
      } catch (e) {
        const err = e instanceof AppError ? e : new AppError('E_SIGN', 'signing failed', { cause: e });
        signFailed(err);
        if (config.onSignError === 'pass-unsigned') {
          plan.plain.push(...plan.sign);
          plan.sign = [];
        } else if (err.code === 'E_CERT') {
          metrics.refuse('certificate');
          throw reply(451, `4.7.0 cannot sign right now (${err.message}); try again later`);
        } else if (err.code === 'E_LIMIT') {
          metrics.refuse('size');
          throw reply(552, `5.3.4 ${err.message}`);
        } else {
          metrics.refuse('unsignable');
          throw reply(554, `5.6.0 the message cannot be signed: ${err.message}`);
        }
      }
    }
    if (plan.sign.length > 0 && plan.plain.length > 0) log.debug({ signed: plan.sign.length, unsigned: plan.plain.length }, 'splitting message');
    log.debug({ from, sign: plan.sign, plain: plan.plain }, 'relaying');

    const copies: Array<Promise<CopyResult & { kind: 'signed' | 'unsigned' }>> = [];
    if (signed && plan.sign.length > 0) copies.push(upstream.send(from, plan.sign, signed).then((r) => ({ ...r, kind: 'signed' as const })));
    if (plan.plain.length > 0) copies.push(upstream.send(from, plan.plain, raw).then((r) => ({ ...r, kind: 'unsigned' as const })));
    metrics.inFlight++;
    let results: Array<CopyResult & { kind: 'signed' | 'unsigned' }>;
    try {
      results = await Promise.all(copies);
    } finally {
      metrics.inFlight--;
    }
    const accepted: string[] = [];
    const refused: CopyResult['refused'] = [];
    for (const r of results) {
      metrics.observeUpstream(r.seconds);
      accepted.push(...r.accepted);
      refused.push(...r.refused);
      if (r.refused.length === 0) metrics.counters[r.kind]++;
      upstreamState = { reachable: r.refused.every((x) => x.code !== null), at: Date.now(), error: r.refused.find((x) => x.code === null)?.text ?? null };
    }
    if (refused.length === 0) {
      retries.forget(key);
      metrics.counters.relayed++;
      if (results.length > 1) metrics.counters.split++;
      return `2.0.0 Ok: relayed (${plan.sign.length} signed, ${plan.plain.length} unsigned)`;
    }
    const worst = worstRefusal(refused);
    // a retry of these exact bytes skips the recipients the upstream already has
    if (accepted.length > 0 && worst.code < 500) retries.remember(key, accepted, Date.now());
    metrics.refuse(worst.code < 500 ? 'upstream-temporary' : 'upstream-permanent');
    log.warn({ code: worst.code, refused: refused.length, accepted: accepted.length, reason: worst.text }, 'upstream did not take every copy');
    throw reply(worst.code, worst.text);
  }

  const server = new SMTPServer({
    banner: 'smime-census signing relay',
    size: config.maxMessageBytes,
    maxClients: config.maxConnections,
    socketTimeout: config.socketTimeoutMs,
    closeTimeout: 30_000,
    maxRecipients: config.maxRecipients,
    // the census decides nothing from DNS; a reverse lookup per connection only adds latency
    disableReverseLookup: true,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: true,
    allowInsecureAuth: false,
    hideSTARTTLS: tls === null,
    disabledCommands: users ? [] : ['AUTH'],
    ...(tls ?? {}),
    logger: false,
    onConnect(session, cb) {
      if (!users && !mayRelay(session)) {
        metrics.refuse('client-not-allowed');
        return cb(reply(554, '5.7.1 this client may not submit here'));
      }
      cb();
    },
    onAuth(auth, _session, cb) {
      if (!users || (auth.method !== 'PLAIN' && auth.method !== 'LOGIN')) return cb(reply(504, '5.7.4 unrecognised authentication type'));
      users.verify(auth.username ?? '', auth.password ?? '').then(
        (ok) => (ok ? cb(null, { user: auth.username }) : cb(reply(535, '5.7.8 authentication credentials invalid'))),
        (e: unknown) => cb(reply(454, `4.7.0 temporary authentication failure (${e instanceof Error ? e.message : 'error'})`)),
      );
    },
    onMailFrom(_address, session, cb) {
      if (!mayRelay(session)) {
        metrics.refuse('auth-required');
        return cb(reply(530, '5.7.0 authentication required'));
      }
      cb();
    },
    onData(stream, session, cb) {
      readMessage(stream).then(
        async (raw) => {
          if (stream.sizeExceeded) {
            metrics.refuse('size');
            return cb(reply(552, `5.3.4 message exceeds the limit of ${config.maxMessageBytes} bytes`));
          }
          try {
            cb(null, await relay(raw, session));
          } catch (e) {
            if (e instanceof Error && 'responseCode' in e) return cb(e);
            metrics.refuse('internal');
            log.error({ err: e instanceof Error ? e.message : String(e) }, 'relay failed');
            cb(reply(451, '4.3.0 internal error, try again later'));
          }
        },
        (e: unknown) => cb(reply(451, `4.3.0 reading the message failed (${e instanceof Error ? e.message : 'error'})`)),
      );
    },
  });
  server.on('error', (e) => log.warn({ err: e.message }, 'SMTP connection error'));
  // smtp-server has no per-connection close event; the underlying net server has both ends
  const netServer = (server as unknown as { server: import('node:net').Server }).server;
  netServer.on('connection', (sock) => {
    metrics.connections++;
    sock.once('close', () => metrics.connections--);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(new AppError('E_CONFIG', `relay cannot listen on ${config.listen.host}:${config.listen.port}: ${e.message}`, { cause: e }));
    netServer.once('error', onError);
    server.listen(config.listen.port, config.listen.host, () => {
      netServer.off('error', onError);
      resolve();
    });
  });
  const addr = netServer.address() as import('node:net').AddressInfo;
  log.info({ host: addr.address, port: addr.port, upstream: upstream.url, mode: config.mode, auth: !!users, starttls: !!tls, dkim: !!config.dkim }, 'relay listening');

  return {
    host: addr.address,
    port: addr.port,
    metrics,
    async status() {
      if (!upstreamState || Date.now() - upstreamState.at > UPSTREAM_CHECK_MS) {
        const err = await upstream.check();
        upstreamState = { reachable: err === null, at: Date.now(), error: err };
      }
      return {
        listening: netServer.listening,
        host: addr.address,
        port: addr.port,
        mode: config.mode,
        connections: metrics.connections,
        upstream: { url: upstream.url, reachable: upstreamState.reachable, checkedAt: new Date(upstreamState.at).toISOString(), lastError: upstreamState.error },
      };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstream.close();
    },
  };
}
