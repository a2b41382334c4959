/**
 * Read-only, header-only reading of one IMAP folder in bounded UID windows.
 *
 * - The folder is opened with EXAMINE (read-only): the server cannot set \Seen or change
 *   anything, whatever we send.
 * - Messages are fetched header-only: BODY.PEEK[HEADER]<0.MAX_HEADER_BYTES+2>, the whole header
 *   block cut just past the size parse accepts (parse then skips a longer one as too-large, as
 *   for a file). Not HEADER.FIELDS (…): imapflow tokenises the echoed ~30-name field list and
 *   compiles it back to a key for every message, which made the client 4x slower per message
 *   than fetching the whole header (scripts/bench/imap.mjs reports both); parse keeps only the
 *   fields it needs, exactly as for a file. `fields` still selects HEADER.FIELDS when given.
 * - Each window is fetched completely before it is handed out, so the consumer
 *   never runs while imapflow's fetch loop is active (an IMAP command issued inside that loop
 *   deadlocks imapflow). The next window (its headers, and for its S/MIME messages the plan
 *   and the first group of signed bytes) is fetched before the current one is handed out, so
 *   the server and the network work while the consumer parses and commits.
 * - A window spans at most `batchSize` UIDs at first and grows while windows come back sparse
 *   (UIDs with gaps after deletions), so memory stays flat for any folder size.
 * - The signed bytes of S/MIME messages (up to MAX_SMIME_MESSAGE_BYTES each) are fetched in
 *   groups of at most MAX_BATCH_BYTES, and a window with more is handed out as several batches:
 *   memory is bounded by bytes, not only by the number of messages.
 */
import type { ImapFlow, MessageStructureObject } from 'imapflow';
import { MAX_BATCH_BYTES, MAX_HEADER_BYTES, MAX_SMIME_MESSAGE_BYTES, type SourceItem } from '../../core/index.js';
import { looksSmime } from '../smime-hint.js';
import type { ImapAccountConfig } from '../../config/imap.js';
import { toImapError } from './errors.js';

/** The state of a folder as EXAMINE reported it. */
export interface FolderInfo {
  path: string;
  /** Decimal string (UIDVALIDITY is a 32-bit unsigned number; kept as text like in the store). */
  uidValidity: string;
  uidNext: number;
  exists: number;
}

/** One fetched window: its items plus the checkpoint to commit with them. */
export interface HeaderBatch {
  items: SourceItem[];
  uidValidity: string;
  /** Every UID <= lastUid in this folder has been handed out (gaps included). */
  lastUid: number;
}

/** Opens a folder read-only (EXAMINE); an unknown or unselectable folder becomes E_IMAP_FOLDER. */
export async function examineFolder(client: ImapFlow, account: ImapAccountConfig, folder: string): Promise<FolderInfo> {
  try {
    const mb = await client.mailboxOpen(folder, { readOnly: true });
    return { path: mb.path, uidValidity: mb.uidValidity.toString(), uidNext: mb.uidNext, exists: mb.exists };
  } catch (e) {
    throw toImapError(e, account, folder);
  }
}

/** `imap:<account>/<folder>/<uidvalidity>/<uid>` — stable per message while UIDVALIDITY holds. */
export function imapSourceKey(account: string, folder: string, uidValidity: string, uid: number): string {
  return `imap:${account}/${folder}/${uidValidity}/${uid}`;
}

export interface ReadOptions {
  client: ImapFlow;
  account: ImapAccountConfig;
  accountName: string;
  folder: FolderInfo;
  /** Resume after this UID (the checkpoint). */
  afterUid: number;
  batchSize: number;
  /** Lower-case header field names to fetch (HEADER.FIELDS); default: the whole header block. */
  fields?: readonly string[] | undefined;
  /** Checked between windows; when it returns true no further window is requested. */
  shouldStop?: () => boolean;
  /** Fetch the signed parts of S/MIME messages for certificate harvesting (default true). */
  harvest?: boolean;
  /** Reports a message whose signed parts could not be fetched (it is still classified). */
  onHarvestError?: (uid: number, error: unknown) => void;
  /** Bounds each command's wait (the session closes a connection that stops answering). */
  deadline?: <T>(p: Promise<T>) => Promise<T>;
}

interface Fetched {
  uid: number;
  headers: Uint8Array;
  internalDate: Date | null;
}

/** Largest window, in UIDs, that one FETCH may span when UIDs are sparse. */
const MAX_WINDOW_FACTOR = 64;

/**
 * Yields the folder's messages with UID > afterUid and < uidNext (as of EXAMINE), window by
 * window. Mail arriving meanwhile is picked up by the next pass.
 */
export async function* readHeaderBatches(o: ReadOptions): AsyncGenerator<HeaderBatch, void, undefined> {
  const { client, folder } = o;
  const bounded = o.deadline ?? (<T>(p: Promise<T>) => p);
  const end = folder.uidNext - 1;
  const fetchWindow = (from: number, to: number): Promise<Fetched[]> => bounded(fetchAllHeaders(from, to));
  // +2: a block of exactly MAX_HEADER_BYTES still arrives with its terminating blank line.
  const query = o.fields
    ? { uid: true, internalDate: true, headers: [...o.fields] }
    : { uid: true, internalDate: true, bodyParts: [{ key: 'HEADER', maxLength: MAX_HEADER_BYTES + 2 }] };
  const fetchAllHeaders = async (from: number, to: number): Promise<Fetched[]> => {
    const out: Fetched[] = [];
    try {
      // The loop body only copies: no IMAP command runs inside it (imapflow would deadlock).
      for await (const m of client.fetch(`${from}:${to}`, query, { uid: true })) {
        out.push({
          uid: m.uid,
          // A copy: imapflow's Buffer is a view into a much larger chunk, and keeping the view
          // would keep that chunk alive for every message of the window (measured: ~70 KB
          // pinned per message, 36 MB per window of 500, against ~1.5 KB of headers).
          headers: m.headers ? Buffer.from(m.headers) : new Uint8Array(0),
          internalDate: m.internalDate instanceof Date ? m.internalDate : m.internalDate ? new Date(m.internalDate) : null,
        });
      }
    } catch (e) {
      throw toImapError(e, o.account, folder.path);
    }
    return out;
  };
  /**
   * One window ready to hand out: its items in UID order and, for its S/MIME items, the plan of
   * groups and the first group's signed bytes (or why they could not be had). Prepared as a
   * whole while the consumer still commits the window before, so a window with signed mail
   * does not keep the consumer waiting for two more round trips. Later groups are fetched only
   * as the window is handed out: at most one group's bytes is read ahead.
   */
  const prepareWindow = async (from: number, to: number): Promise<PreparedWindow> => {
    const messages = await fetchWindow(from, to);
    const items: SourceItem[] = [];
    for (const m of messages) {
      // `1:*`-style quirks aside, a server may return a UID outside the asked range; ignore it.
      if (m.uid < o.afterUid + 1 || m.uid > to) continue;
      items.push({
        sourceKey: imapSourceKey(o.accountName, folder.path, folder.uidValidity, m.uid),
        headerBytes: m.headers,
        receivedAt: m.internalDate,
      });
    }
    items.sort((a, b) => uidOf(a) - uidOf(b));
    const w: PreparedWindow = { items, fetched: messages.length, lastUid: to, smime: [], plan: { groups: [] }, first: null };
    w.smime = o.harvest === false ? [] : items.flatMap((it, i) => (looksSmime(it.headerBytes) ? [i] : []));
    if (w.smime.length === 0) return w;
    // Outside any fetch loop: these commands queue behind other commands, never inside a fetch.
    let groups: SmimeGroup[];
    try {
      groups = await bounded(planSmimeGroups(client, items, w.smime));
    } catch (e) {
      if (!client.usable) throw toImapError(e, o.account, folder.path);
      w.plan = { error: e };
      return w;
    }
    w.plan = { groups };
    w.first = await fetchGroup(items, groups[0]!);
    return w;
  };
  /** The signed bytes of one group, or the error of a refusal on a working connection. */
  const fetchGroup = async (items: readonly SourceItem[], group: SmimeGroup): Promise<GroupBytes> => {
    try {
      return await bounded(fetchSmimeBytes(client, group.map((w) => ({ uid: uidOf(items[w.index]!), how: w.how }))));
    } catch (e) {
      // A lost connection fails the window, so it is fetched again after the reconnect
      // (committing it without the signed parts would lose the certificates for good); a
      // refusal on a working connection only skips harvesting for this group.
      if (!client.usable) throw toImapError(e, o.account, folder.path);
      return { error: e };
    }
  };
  let window = o.batchSize;
  let from = o.afterUid + 1;
  if (from > end) return;
  let to = Math.min(from + window - 1, end);
  let pending: Promise<PreparedWindow> | null = prepareWindow(from, to);
  while (pending) {
    const w: PreparedWindow = await pending;
    const { items, lastUid } = w;
    pending = null;
    if (w.fetched < o.batchSize / 2) window = Math.min(window * 2, o.batchSize * MAX_WINDOW_FACTOR);
    else if (w.fetched >= o.batchSize) window = Math.max(o.batchSize, Math.floor(window / 2));
    if (lastUid < end && !o.shouldStop?.()) {
      from = lastUid + 1;
      to = Math.min(from + window - 1, end);
      pending = prepareWindow(from, to);
      // A rejected prefetch is re-thrown when awaited; keep it from counting as unhandled meanwhile.
      pending.catch(() => undefined);
    }
    if (w.smime.length === 0) {
      yield { items, uidValidity: folder.uidValidity, lastUid };
      continue;
    }
    if ('error' in w.plan) {
      for (const i of w.smime) o.onHarvestError?.(uidOf(items[i]!), w.plan.error);
      yield { items, uidValidity: folder.uidValidity, lastUid };
      continue;
    }
    const { groups } = w.plan;
    let start = 0;
    for (const [g, group] of groups.entries()) {
      const bytes = g === 0 ? w.first! : await fetchGroup(items, group);
      if (bytes instanceof Map) {
        for (const { index } of group) {
          const b = bytes.get(uidOf(items[index]!));
          if (b) items[index] = { ...items[index]!, smimeBytes: b };
        }
      } else for (const { index } of group) o.onHarvestError?.(uidOf(items[index]!), bytes.error);
      // Hand out everything up to this group's last message before fetching the next group's
      // bytes; the last group takes the rest of the window and the window's end as checkpoint.
      const last = g === groups.length - 1;
      const stop = last ? items.length : group[group.length - 1]!.index + 1;
      const part = items.slice(start, stop);
      start = stop;
      yield { items: part, uidValidity: folder.uidValidity, lastUid: last ? lastUid : uidOf(part[part.length - 1]!) };
    }
  }
}

type SmimeBytes = Map<number, NonNullable<SourceItem['smimeBytes']>>;
/** A group's signed bytes by UID, or the refusal that left the group without them. */
type GroupBytes = SmimeBytes | { error: unknown };

interface PreparedWindow {
  items: SourceItem[];
  /** Messages the server returned (for sizing the next window). */
  fetched: number;
  lastUid: number;
  /** Indexes of the items that look S/MIME. */
  smime: number[];
  /** Their groups, or the error of a refused BODYSTRUCTURE on a working connection. */
  plan: { groups: SmimeGroup[] } | { error: unknown };
  /** The first group's bytes (null without S/MIME items or groups). */
  first: GroupBytes | null;
}

type Fetch = 'parts' | 'whole';
/** Items (by index in the window) whose signed bytes are fetched together, and how. */
type SmimeGroup = Array<{ index: number; how: Fetch }>;

/**
 * One BODYSTRUCTURE command for the S/MIME items of a window: which bytes each needs (the two
 * parts of a multipart/signed, or the whole message), and groups of item indexes whose bytes
 * together stay within MAX_BATCH_BYTES (a group holds at least one message). Items over
 * MAX_SMIME_MESSAGE_BYTES are left out: they are classified from their headers only.
 */
async function planSmimeGroups(client: ImapFlow, items: readonly SourceItem[], smime: readonly number[]): Promise<SmimeGroup[]> {
  const byUid = new Map(smime.map((i) => [uidOf(items[i]!), i]));
  const wanted: Array<{ index: number; how: Fetch; size: number }> = [];
  for (const m of await client.fetchAll([...byUid.keys()].join(','), { uid: true, bodyStructure: true, size: true }, { uid: true })) {
    const index = byUid.get(m.uid);
    if (index === undefined) continue;
    const bs = m.bodyStructure as MessageStructureObject | undefined;
    const type = (bs?.type ?? '').toLowerCase();
    const [signed, signature] = bs?.childNodes ?? [];
    let how: Fetch | null = null;
    let size = m.size ?? 0;
    if (type === 'multipart/signed' && signed?.part === '1' && signature?.part === '2') {
      how = 'parts';
      size = (signed.size ?? 0) + (signature.size ?? 0);
    } else if (type === 'multipart/signed' || type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime') how = 'whole';
    if (!how || size > MAX_SMIME_MESSAGE_BYTES) continue;
    wanted.push({ index, how, size });
  }
  wanted.sort((a, b) => a.index - b.index);
  const groups: SmimeGroup[] = [];
  let bytes = Infinity;
  for (const w of wanted) {
    if (bytes + w.size > MAX_BATCH_BYTES) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1]!.push({ index: w.index, how: w.how });
    bytes += w.size;
  }
  return groups.length ? groups : [[]];
}

/**
 * The bytes certificate harvesting needs, fetched with BODY.PEEK (never sets \Seen) in at most
 * two commands per group (not per message): for multipart/signed the first part exactly as
 * signed (its MIME header + body) and the signature part; for opaque application/pkcs7-mime, or
 * a signed message the server cannot split into two parts, the whole message.
 */
async function fetchSmimeBytes(client: ImapFlow, wanted: ReadonlyArray<{ uid: number; how: Fetch }>): Promise<SmimeBytes> {
  const out: SmimeBytes = new Map();
  const parts = wanted.filter((w) => w.how === 'parts').map((w) => w.uid);
  const whole = wanted.filter((w) => w.how === 'whole').map((w) => w.uid);
  if (parts.length > 0) {
    for (const m of await client.fetchAll(parts.join(','), { uid: true, bodyParts: ['1.MIME', '1', '2'] }, { uid: true })) {
      const get = (k: string): Buffer | undefined => m.bodyParts?.get(k) ?? m.bodyParts?.get(k.toLowerCase());
      const mime = get('1.MIME');
      const body = get('1');
      const sig = get('2');
      if (mime && body && sig) out.set(m.uid, { kind: 'parts', signedPart: Buffer.concat([mime, body]), signature: Buffer.from(sig) });
    }
  }
  if (whole.length > 0) {
    for (const m of await client.fetchAll(whole.join(','), { uid: true, source: true }, { uid: true })) {
      if (m.source) out.set(m.uid, { kind: 'message', message: Buffer.from(m.source) });
    }
  }
  return out;
}

function uidOf(item: SourceItem): number {
  return Number(item.sourceKey.slice(item.sourceKey.lastIndexOf('/') + 1));
}
