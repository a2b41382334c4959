/**
 * Relay test helpers: the "application" (Python smtplib, test/relay/smtp-app.py), a census
 * seeded from real client headers, and relay start-up with a validated config.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relaySchema, type RelayConfig } from '../../src/config/index.js';

const APP_SCRIPT = fileURLToPath(new URL('./smtp-app.py', import.meta.url));
/** Debian's python3 (python3-dkim lives there), not whatever a version manager put first on PATH. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface SubmitJob {
  port: number;
  from: string;
  to: string[];
  data: Buffer | string;
  mailOptions?: string[];
  starttls?: boolean;
  cafile?: string;
  user?: string;
  password?: string;
  /** Keep retrying 4xx / connection errors for this long, as the application's MTA queue would. */
  retryForMs?: number;
}

export interface SubmitResult {
  code: number | null;
  text: string;
  attempts: number;
}

/** Submits one message with Python's smtplib; resolves with the final SMTP reply. */
export function submit(job: SubmitJob): Promise<SubmitResult> {
  const input = JSON.stringify({
    host: '127.0.0.1',
    port: job.port,
    from: job.from,
    to: job.to,
    data: Buffer.from(job.data).toString('base64'),
    mail_options: job.mailOptions ?? [],
    starttls: job.starttls ?? false,
    cafile: job.cafile,
    user: job.user,
    password: job.password,
    retry_until: job.retryForMs ? Date.now() / 1000 + job.retryForMs / 1000 : 0,
  });
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [APP_SCRIPT], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`smtp-app.py failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as SubmitResult);
    });
    child.stdin!.end(input);
  });
}

/** A relay config for tests (validated by the real schema). */
export function relayConfig(upstreamPort: number, extra: Record<string, unknown> = {}): RelayConfig {
  return relaySchema.parse({ listen: { host: '127.0.0.1', port: 0 }, upstream: `smtp://127.0.0.1:${upstreamPort}`, ...extra });
}

/** A CRLF message from lines. */
export function crlf(lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
}
