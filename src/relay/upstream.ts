/**
 * The upstream MTA, through nodemailer's SMTP transport (pooled): smtp:// upgrades with
 * STARTTLS whenever the server offers it, smtps:// is implicit TLS; certificates are verified
 * (system CAs, or `upstreamCaFile`). We never queue: each copy is handed over while the client
 * waits, and the outcome decides the client's reply.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { AppError } from '../core/index.js';
import type { RelayConfig } from '../config/index.js';

/** Longest the upstream may take to read one message and answer; a 25 MB copy on a slow link needs minutes. */
export const UPSTREAM_SOCKET_TIMEOUT_MS = 5 * 60_000;

export interface CopyResult {
  /** Recipients the upstream accepted. */
  accepted: string[];
  /** Recipients it did not, with the SMTP reply (or a connection error) for each. */
  refused: Array<{ recipient: string; code: number | null; text: string }>;
  seconds: number;
}

export interface Upstream {
  /** Hands one copy over; never throws (a connection failure refuses every recipient with code null). */
  send(from: string, to: readonly string[], raw: Buffer): Promise<CopyResult>;
  /** Connects, greets and (if configured) logs in; resolves to null when fine, else the error text. */
  check(): Promise<string | null>;
  /** The URL without credentials, for health output. */
  readonly url: string;
  close(): void;
}

export interface UpstreamSecrets {
  password?: string;
  dkimKey?: string;
}

/** The upstream password: `upstreamPasswordFile`, else env CENSUS_RELAY_UPSTREAM_PASSWORD. */
export function readUpstreamSecrets(config: RelayConfig, env: NodeJS.ProcessEnv): UpstreamSecrets {
  const out: UpstreamSecrets = {};
  if (config.upstreamPasswordFile) {
    try {
      out.password = readFileSync(config.upstreamPasswordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new AppError('E_SECRET', `cannot read relay.upstreamPasswordFile ${config.upstreamPasswordFile}`, { cause: e });
    }
  } else if (env.CENSUS_RELAY_UPSTREAM_PASSWORD) out.password = env.CENSUS_RELAY_UPSTREAM_PASSWORD;
  if (config.upstreamUser && out.password === undefined) throw new AppError('E_SECRET', 'relay.upstreamUser is set but no password: set relay.upstreamPasswordFile or CENSUS_RELAY_UPSTREAM_PASSWORD');
  if (config.dkim) {
    try {
      out.dkimKey = readFileSync(config.dkim.keyFile, 'utf8');
    } catch (e) {
      throw new AppError('E_SECRET', `cannot read relay.dkim.keyFile ${config.dkim.keyFile}`, { cause: e });
    }
    if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(out.dkimKey)) throw new AppError('E_CONFIG', `relay.dkim.keyFile ${config.dkim.keyFile}: not a PEM private key`);
  }
  return out;
}

/** Builds the pooled transport. Nothing connects until the first copy (or check()). */
export function createUpstream(config: RelayConfig, secrets: UpstreamSecrets): Upstream {
  const u = new URL(config.upstream);
  const secure = u.protocol === 'smtps:';
  const port = u.port ? Number(u.port) : secure ? 465 : 25;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let ca: string | undefined;
  if (config.upstreamCaFile) {
    try {
      ca = readFileSync(config.upstreamCaFile, 'utf8');
    } catch (e) {
      throw new AppError('E_INPUT', `cannot read relay.upstreamCaFile ${config.upstreamCaFile}`, { cause: e });
    }
  }
  const options: SMTPPool.Options = {
    pool: true,
    maxConnections: config.upstreamConnections,
    // a pooled connection is replaced after this many messages (bounds what one session can pile up)
    maxMessages: 1000,
    host,
    port,
    secure,
    name: hostname(),
    connectionTimeout: config.upstreamTimeoutMs,
    greetingTimeout: config.upstreamTimeoutMs,
    socketTimeout: UPSTREAM_SOCKET_TIMEOUT_MS,
    // SNI only for names: RFC 6066 forbids an IP address there (the certificate is still checked against the IP)
    tls: { rejectUnauthorized: true, ...(ca ? { ca } : {}), ...(isIP(host) === 0 ? { servername: host } : {}) },
    logger: false,
    // a password goes only inside TLS: without smtps, STARTTLS is required (an upstream that
    // offers AUTH in the clear, or a stripped STARTTLS, gets no login and no mail)
    ...(config.upstreamUser ? { auth: { user: config.upstreamUser, pass: secrets.password ?? '' }, requireTLS: !secure } : {}),
    ...(config.dkim && secrets.dkimKey ? { dkim: { domainName: config.dkim.domain, keySelector: config.dkim.selector, privateKey: secrets.dkimKey } } : {}),
  };
  const transport = nodemailer.createTransport(options);
  const url = `${u.protocol}//${u.host}`;

  return {
    url,
    async send(from, to, raw) {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      // 8-bit bytes anywhere (UTF-8 headers, 8-bit body) need BODY=8BITMIME upstream
      const use8BitMime = raw.some((b) => b >= 0x80);
      try {
        const info = await transport.sendMail({ envelope: { from, to: [...to], use8BitMime } as never, raw });
        const refusedErrors = ((info as { rejectedErrors?: Array<{ recipient?: string; responseCode?: number; response?: string; message: string }> }).rejectedErrors ?? []);
        const refused = (info.rejected as string[]).map((r) => {
          const e = refusedErrors.find((x) => x.recipient === r);
          return { recipient: r, code: e?.responseCode ?? null, text: e?.response ?? e?.message ?? 'refused' };
        });
        const acceptedSet = new Set(info.accepted as string[]);
        return { accepted: to.filter((r) => acceptedSet.has(r) || !refused.some((x) => x.recipient === r)), refused, seconds: seconds() };
      } catch (e) {
        /** Every copy refused with one reply (`code` null: the upstream gave no SMTP reply, treated as temporary). */
        const refuseAll = (code: number | null, text: string) => ({ accepted: [], refused: to.map((r) => ({ recipient: r, code, text })), seconds: seconds() });
        const err = e as { responseCode?: number; response?: string; message?: string; code?: string; rejected?: string[]; rejectedErrors?: Array<{ recipient?: string; responseCode?: number; response?: string }> };
        // every recipient refused at RCPT: each has its own reply
        if (err.code === 'EENVELOPE' && err.rejectedErrors && err.rejectedErrors.length > 0) {
          return {
            accepted: [],
            refused: to.map((r) => {
              const x = err.rejectedErrors!.find((y) => y.recipient === r);
              return { recipient: r, code: x?.responseCode ?? err.responseCode ?? null, text: x?.response ?? err.response ?? err.message ?? 'refused' };
            }),
            seconds: seconds(),
          };
        }
        // A refused login is the relay's configuration problem, not the message's: the
        // application keeps the message queued (4xx) until the operator fixes the credentials.
        if (err.code === 'EAUTH' || err.code === 'ENOAUTH') {
          return refuseAll(null, `upstream refused the relay's login (${err.response ?? err.message ?? 'authentication failed'})`);
        }
        // STARTTLS refused or failed: a property of the connection, never of the message
        if (err.code === 'ETLS') {
          return refuseAll(null, `STARTTLS with the upstream failed (${err.response ?? err.message ?? 'no TLS'})`);
        }
        const code = typeof err.responseCode === 'number' && err.responseCode >= 400 ? err.responseCode : null;
        return refuseAll(code, code !== null ? (err.response ?? err.message ?? 'refused') : `${err.code ?? 'error'}: ${err.message ?? 'upstream unavailable'}`);
      }
    },
    async check() {
      try {
        await transport.verify();
        return null;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    },
    close() {
      transport.close();
    },
  };
}
