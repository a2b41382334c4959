/**
 * The signing relay (`relay:`): an SMTP submission listener for the company's own applications
 * that S/MIME-signs per recipient and hands each copy to the upstream MTA.
 *
 * Secrets are never config values: the upstream password comes from `upstreamPasswordFile` or
 * the environment (CENSUS_RELAY_UPSTREAM_PASSWORD), the DKIM key and TLS key from files, and
 * client passwords exist only as salted scrypt hashes in `usersFile`.
 */
import { isIP } from 'node:net';
import * as z from 'zod';

export const RELAY_MODES = ['recommended', 'always', 'never'] as const;
export type RelayMode = (typeof RELAY_MODES)[number];

/** Default size limit: what `sign` accepts (MAX_SIGN_MESSAGE_BYTES); a bigger message could not be signed. */
export const RELAY_DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024;

const filePath = z.string().min(1);

const cidr = z.string().refine((s) => {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || !addr) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}, 'must be an IP address or network such as 10.0.0.0/8 or fd00::/8');

const upstreamUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'smtp:' || u.protocol === 'smtps:') && u.hostname !== '' && u.username === '' && u.password === '' && (u.pathname === '' || u.pathname === '/');
  } catch {
    return false;
  }
}, 'must be smtp://host[:port] (STARTTLS when offered) or smtps://host[:port]; credentials go in upstreamUser/upstreamPasswordFile, never in the URL');

export const relaySchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(2525),
    })
    .default({ host: '127.0.0.1', port: 2525 }),
  upstream: upstreamUrl,
  upstreamUser: z.string().min(1).optional(),
  upstreamPasswordFile: filePath.optional(),
  /** PEM of a private CA that signed the upstream's certificate (verification stays on). */
  upstreamCaFile: filePath.optional(),
  /** recommended: sign for recipients the census says `sign`; always / never: ignore the census. */
  mode: z.enum(RELAY_MODES).default('recommended'),
  /** What a recipient the census has no answer for gets (mode recommended). */
  unknown: z.enum(['unsigned', 'signed']).default('unsigned'),
  /** When the certificate cannot sign (expired, From not covered): answer 4xx, or pass the mail unsigned. */
  onSignError: z.enum(['defer', 'pass-unsigned']).default('defer'),
  dkim: z
    .strictObject({
      domain: z.string().min(1),
      selector: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'must be a DNS label such as s1'),
      keyFile: filePath,
    })
    .optional(),
  /** STARTTLS on the listener; needed for SMTP AUTH. */
  tls: z.strictObject({ certFile: filePath, keyFile: filePath }).optional(),
  /** Client logins: `user:scrypt$N$r$p$salt$hash` lines (`smime-census relay passwd` makes them). */
  usersFile: filePath.optional(),
  /** Client networks that may submit without AUTH; `[]` makes everyone log in (needs usersFile). */
  allowNetworks: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
  /** Largest message accepted (SIZE), bytes. */
  maxMessageBytes: z.number().int().min(1024).max(RELAY_DEFAULT_MAX_MESSAGE_BYTES).default(RELAY_DEFAULT_MAX_MESSAGE_BYTES),
  maxRecipients: z.number().int().min(1).max(10_000).default(1000),
  /** Simultaneous client connections. */
  maxConnections: z.number().int().min(1).max(10_000).default(100),
  /** Idle client connection timeout. */
  socketTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
  /** Connections to the upstream kept open and used in parallel. */
  upstreamConnections: z.number().int().min(1).max(100).default(8),
  /** Connect/greeting timeout towards the upstream. */
  upstreamTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
});

export type RelayConfig = z.infer<typeof relaySchema>;
