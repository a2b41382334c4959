/**
 * `smime-census auth login ACCOUNT` (device authorization grant, RFC 8628: first consent for a
 * refresh-token account) and `smime-census auth status` (each OAuth2 account's token state;
 * never a token).
 */
import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { configFrom, out } from '../light.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  const auth = program.command('auth').description('OAuth2 sign-in and token state of the IMAP accounts');
  auth
    .command('login')
    .description('sign in once for an account with grant refresh_token (device flow: open the URL, enter the code) and store its refresh token')
    .argument('<account>', 'account name')
    .action(async (name: string) => {
      const { authLogin } = await import('../../app/auth.js');
      const config = configFrom(globals());
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        const r = await authLogin(config, name, (p) => {
          // stderr: the prompt is for the person at the terminal, stdout stays for the result.
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
