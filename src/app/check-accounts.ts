/**
 * `config check`'s logins: every configured account is logged into and each of its folders
 * examined (read-only), one result at a time, so an operator sees which account or folder is
 * wrong before the poller runs. Nothing is fetched or stored.
 */
import { AppError, isAppError } from '../core/index.js';
import { accountName, type Config } from '../config/index.js';
import { ImapSession, toImapError } from '../source/imap/index.js';
import type { Logger } from './logger.js';

export type AccountCheck =
  | { kind: 'login'; account: string; user: string; secure: boolean }
  | { kind: 'folder'; account: string; folder: string; exists: number; uidValidity: string }
  | { kind: 'failure'; account: string; error: AppError };

/** Logs into each account and examines its folders; a folder that fails does not stop the others. */
export async function* checkAccounts(config: Config, logger: Logger): AsyncGenerator<AccountCheck> {
  for (const account of config.accounts) {
    const name = accountName(account);
    const log = logger.child({ component: 'imap', account: name });
    try {
      const session = await ImapSession.open({ account, poll: config.poll, logger: log });
      yield { kind: 'login', account: name, user: account.user, secure: session.secure };
      try {
        for (const folder of account.folders) {
          try {
            const info = await session.examine(folder);
            yield { kind: 'folder', account: name, folder, exists: info.exists, uidValidity: String(info.uidValidity) };
          } catch (e) {
            const err = toImapError(e, account, folder);
            if (err.code !== 'E_IMAP_FOLDER') throw err;
            yield { kind: 'failure', account: name, error: err };
          }
        }
      } finally {
        await session.close();
      }
    } catch (e) {
      yield { kind: 'failure', account: name, error: isAppError(e) ? e : toImapError(e, account) };
    }
  }
}
