/**
 * `smime-census auth login ACCOUNT` (device authorization grant, RFC 8628, or with --browser the
 * loopback-redirect authorization code grant, RFC 8252 + PKCE: first consent for a refresh-token account) and `smime-census auth status` (each OAuth2 account's token state;
 * never a token).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { configFrom, out } from '../light.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  const auth = program.command('auth').description('OAuth2 sign-in and token state of the IMAP accounts');
  auth
    .command('login')
    .description('sign in once for an account with grant refresh_token and store its refresh token (device flow: open the URL, enter the code; --browser: open the URL on this machine)')
    .argument('<account>', 'account name')
    .option('--browser', 'sign in in a browser on this machine: authorization code with PKCE, redirect to 127.0.0.1 (Google needs this for the Gmail scope)')
    .option('--port <n>', 'with --browser: the loopback port for the redirect (default: any free port; give one to tunnel it over SSH)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port number 1-65535');
      return n;
    })
    .action(async (name: string, opts: { browser?: boolean; port?: number }) => {
      const { authLogin, authBrowserLogin } = await import('../../app/auth.js');
      const config = configFrom(globals());
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        // stderr: the prompt is for the person at the terminal, stdout stays for the result.
        const r = opts.browser
          ? await authBrowserLogin(
              config,
              name,
              (p) => {
                process.stderr.write(
                  `To sign in for account ${name}, open this URL in a browser on this machine:\n\n  ${p.authorizationUrl}\n\n` +
                    `The provider sends the browser back to ${p.redirectUri} (on another machine: ssh -L ${new URL(p.redirectUri).port}:127.0.0.1:${new URL(p.redirectUri).port} to this host first). Waiting for the sign-in...\n`,
                );
              },
              { ...(opts.port ? { port: opts.port } : {}), signal: abort.signal },
            )
          : await authLogin(config, name, (p) => {
              process.stderr.write(
                `To sign in for account ${name}, open\n\n  ${p.verificationUri}\n\nand enter the code\n\n  ${p.userCode}\n\n` +
                  (p.verificationUriComplete ? `(or open ${p.verificationUriComplete})\n` : '') +
                  `The code expires in ${Math.round(p.expiresInS / 60)} minutes. Waiting for the sign-in...\n`,
              );
            }, abort.signal);
        await out(`signed in: refresh token stored in ${r.tokenFile}${r.scope ? ` (scope ${r.scope})` : ''}\n`);
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
  auth
    .command('status')
    .description("show each OAuth2 account's token state: expiry, last refresh, failures, last error")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { authStatus } = await import('../../app/auth.js');
      const rows = authStatus(configFrom(globals()));
      if (opts.json) {
        await out(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      if (!rows.length) {
        await out('no account uses auth.type oauth2\n');
        return;
      }
      const lines = ['account\tprovider\tgrant\ttoken\texpires\tlast refresh\tfailures\tlast error'];
      for (const r of rows) {
        const token = r.tokenFile ? (r.tokenFile.present ? `file ${r.tokenFile.mode}${r.tokenFile.updatedAt ? ` (${r.tokenFile.updatedAt})` : ''}` : 'MISSING: run auth login') : '-';
        const expires = r.secondsToExpiry === null ? '-' : r.secondsToExpiry <= 0 ? `expired ${-r.secondsToExpiry}s ago` : `in ${r.secondsToExpiry}s`;
        const err = r.state?.lastError ? `${r.state.lastError.code} ${r.state.lastError.at}: ${r.state.lastError.message}` : '-';
        lines.push([r.account, r.provider, r.grant, token, expires, r.state?.lastRefreshAt ?? 'never', String(r.state?.refreshFailures ?? 0), err].join('\t'));
      }
      await out(lines.join('\n') + '\n');
    });
}
