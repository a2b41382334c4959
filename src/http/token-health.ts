/**
 * Token health of the OAuth2 IMAP accounts for /healthz and /metrics: seconds to expiry, last
 * refresh, refresh failures. Never a token.
 */
import type { TokenHealth } from '../app/poll.js';

const nullableString = { anyOf: [{ type: 'string' }, { type: 'null' }] } as const;

/** The `oauth` array of /healthz. */
export const tokenHealthSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      account: { type: 'string' },
      provider: { type: 'string' },
      grant: { type: 'string' },
      healthy: { type: 'boolean' },
      secondsToExpiry: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
      expiresAt: nullableString,
      lastRefreshAt: nullableString,
      refreshFailures: { type: 'integer' },
      lastError: { anyOf: [{ type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, at: { type: 'string' } } }, { type: 'null' }] },
    },
  },
} as const;

/** A token source is healthy while its last request succeeded (or none was needed yet). */
export function tokenHealthView(t: TokenHealth): Record<string, unknown> {
  return {
    account: t.account,
    provider: t.provider,
    grant: t.grant,
    healthy: t.refreshFailures === 0,
    secondsToExpiry: t.secondsToExpiry,
    expiresAt: t.expiresAt,
    lastRefreshAt: t.lastRefreshAt,
    refreshFailures: t.refreshFailures,
    lastError: t.lastError,
  };
}

const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text for the token gauges and counters. */
export function renderTokenMetrics(tokens: readonly TokenHealth[]): string {
  if (!tokens.length) return '';
  const out: string[] = [];
  const head = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  head('smime_census_oauth_token_expiry_seconds', 'gauge', 'Seconds until the cached OAuth2 access token of an IMAP account expires (absent before the first token).');
  for (const t of tokens) if (t.secondsToExpiry !== null) out.push(`smime_census_oauth_token_expiry_seconds{account="${esc(t.account)}"} ${t.secondsToExpiry}`);
  head('smime_census_oauth_token_refreshes_total', 'counter', 'Access tokens obtained per IMAP account since start.');
  for (const t of tokens) out.push(`smime_census_oauth_token_refreshes_total{account="${esc(t.account)}"} ${t.refreshes}`);
  head('smime_census_oauth_token_refresh_failures_total', 'counter', 'Failed token requests per IMAP account since start.');
  for (const t of tokens) out.push(`smime_census_oauth_token_refresh_failures_total{account="${esc(t.account)}"} ${t.refreshFailuresTotal}`);
  head('smime_census_oauth_token_consecutive_failures', 'gauge', 'Failed token requests in a row per IMAP account (0 after a success).');
  for (const t of tokens) out.push(`smime_census_oauth_token_consecutive_failures{account="${esc(t.account)}"} ${t.refreshFailures}`);
  return out.join('\n') + '\n';
}
