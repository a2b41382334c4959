/**
 * Live watching on one connection: IDLE on one folder (NOOP polling where the server has no
 * IDLE), STATUS checks for the other folders, and a periodic IDLE restart + NOOP so that a
 * silently dead connection is noticed.
 */
import type { ImapFlow } from 'imapflow';
import type { ImapAccountConfig, PollConfig } from '../../config/imap.js';
import { ImapError, toImapError, whereOf } from './errors.js';
import { examineFolder } from './folder.js';

/**
 * How many messages have a UID above `afterUid` (uses ESEARCH COUNT when the server has it).
 * The folder must be open. `n:*` matches the highest UID even when it is below n, hence the
 * uidNext guard.
 */
export async function countAfter(client: ImapFlow, afterUid: number, uidNext: number, exists: number): Promise<number> {
  if (afterUid + 1 >= uidNext) return 0;
  if (afterUid === 0) return exists;
  const range = `${afterUid + 1}:*`;
  if (client.capabilities.has('ESEARCH')) {
    const r = await client.search({ uid: range }, { uid: true, returnOptions: ['COUNT'] });
    if (r && !Array.isArray(r) && typeof r.count === 'number') return r.count;
    if (Array.isArray(r)) return r.filter((u) => u > afterUid).length;
  }
  const r = await client.search({ uid: range }, { uid: true });
  return Array.isArray(r) ? r.filter((u) => u > afterUid).length : 0;
}

type Known = { uidValidity: string; lastUid: number } | null;

export interface WatchOptions {
  client: ImapFlow;
  account: ImapAccountConfig;
  poll: Pick<PollConfig, 'idleRestartMs' | 'statusIntervalMs' | 'noopIntervalMs' | 'noopTimeoutMs'>;
  /** Watched with IDLE. */
  idleFolder: string;
  /** Checked with STATUS every statusIntervalMs. */
  otherFolders: readonly string[];
  /** What the store holds for a folder; a folder whose server state differs needs a sync. */
  known(folder: string): Known | Promise<Known>;
  /** When the last STATUS round ran (ms epoch); updated here. */
  statusState: { lastStatusAt: number };
  /** Aborted by Poller.stop(): the wait ends at once. */
  signal: AbortSignal;
  /** New messages announced by the server (for lag reporting). */
  onNewMail?: (folder: string, count: number) => void;
}

export interface WatchResult {
  /** Folders that need a sync pass now. */
  changed: string[];
  reason: 'exists' | 'refresh' | 'status' | 'noop' | 'stop' | 'pending';
}

/**
 * Waits until a watched folder may have new mail (or stop is requested), then leaves IDLE
 * and returns which folders to sync. Throws E_IMAP_CONNECT when the connection dies.
 */
export async function watchForChanges(o: WatchOptions): Promise<WatchResult> {
  const { client, account, idleFolder } = o;
  if (o.signal.aborted) return { changed: [], reason: 'stop' };
  // (checked again once the listeners are in place, below)
  const info = await examineFolder(client, account, idleFolder);
  const k = await o.known(idleFolder);
  // Mail that arrived between the last sync and this EXAMINE: no IDLE needed.
  if (!k || k.uidValidity !== info.uidValidity || info.uidNext - 1 > k.lastUid) {
    return { changed: [idleFolder], reason: 'pending' };
  }
  const hasIdle = client.capabilities.has('IDLE');
  let reason = 'refresh' as WatchResult['reason'] | 'closed';
  let idling: Promise<unknown> | null = null;
  await new Promise<void>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const finish = (r: typeof reason) => {
      reason = r;
      for (const t of timers) clearTimeout(t);
      client.off('exists', onExists);
      client.off('close', onClose);
      o.signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onExists = (ev: { path: string; count: number; prevCount: number }) => {
      if (ev.count > ev.prevCount) {
        o.onNewMail?.(ev.path, ev.count - ev.prevCount);
        finish('exists');
      }
    };
    const onClose = () => finish('closed');
    const onAbort = () => finish('stop');
    client.on('exists', onExists);
    client.on('close', onClose);
    o.signal.addEventListener('abort', onAbort);
    // A stop requested during the EXAMINE above fired its event before we listened: without
    // this check the wait would last until the IDLE restart (minutes).
    if (o.signal.aborted) {
      finish('stop');
      return;
    }
    timers.push(setTimeout(() => finish(hasIdle ? 'refresh' : 'noop'), hasIdle ? o.poll.idleRestartMs : o.poll.noopIntervalMs));
    if (o.otherFolders.length) {
      const due = Math.max(0, o.statusState.lastStatusAt + o.poll.statusIntervalMs - Date.now());
      timers.push(setTimeout(() => finish('status'), due));
    }
    if (hasIdle) {
      idling = client.idle();
      // IDLE ends with an error when the connection dies; 'close' reports that.
      idling.catch(() => undefined);
    }
  });
  if (reason === 'closed' || !client.usable) {
    throw new ImapError('E_IMAP_CONNECT', `${whereOf(account, idleFolder)}: connection closed while idle`, { folder: idleFolder });
  }
  // Any command ends IDLE (imapflow sends DONE first); a NOOP also proves the server still answers.
  await noopWithTimeout(client, account, idleFolder, o.poll.noopTimeoutMs);
  if (idling) await idling;
  if (reason === 'stop') return { changed: [], reason };
  const changed = [idleFolder];
  if (reason === 'status' || (o.otherFolders.length && Date.now() - o.statusState.lastStatusAt >= o.poll.statusIntervalMs)) {
    o.statusState.lastStatusAt = Date.now();
    for (const f of o.otherFolders) {
      let st;
      try {
        st = await client.status(f, { uidNext: true, uidValidity: true, messages: true });
      } catch (e) {
        // The error names the folder, so that only that one is given up.
        throw toImapError(e, account, f);
      }
      if (!st) throw new ImapError('E_IMAP_FOLDER', `${whereOf(account, f)}: STATUS failed`, { folder: f });
      const kf = await o.known(f);
      if (!kf || kf.uidValidity !== String(st.uidValidity) || (st.uidNext ?? 0) - 1 > kf.lastUid) changed.push(f);
    }
  }
  return { changed, reason };
}

/** Silently dead connections must fail fast: a NOOP that is not answered in time is an error. */
async function noopWithTimeout(client: ImapFlow, account: ImapAccountConfig, folder: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.noop(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(`NOOP not answered within ${timeoutMs} ms`), { code: 'ETIMEOUT' })),
          timeoutMs,
        );
      }),
    ]);
  } catch (e) {
    client.close();
    throw toImapError(e, account, folder);
  } finally {
    clearTimeout(timer);
  }
}
