// fs.promises, not node:fs/promises: the bundled `import -` script then loads Node's promise API
// (and the readline modules behind it, ~1.5 ms) only when a file is read, not at every delivery from stdin.
import { promises as fsp } from 'node:fs';
import { MAX_SMIME_MESSAGE_BYTES } from '../../core/index.js';
import { resolve, join } from 'node:path';
import { AppError } from '../../core/index.js';
import type { SourceItem } from '../../core/index.js';
import { readMbox } from './mbox.js';
import { looksSmime } from '../smime-hint.js';
import { readHead } from './read-head.js';

export { readMbox, fromLineDate } from './mbox.js';
export { looksSmime } from '../smime-hint.js';
export { readHead } from './read-head.js';

export type FileSourceKind = 'mbox' | 'maildir' | 'eml-folder' | 'eml';

async function isMaildir(dir: string): Promise<boolean> {
  try {
    const [cur, nw] = await Promise.all([fsp.stat(join(dir, 'cur')), fsp.stat(join(dir, 'new'))]);
    return cur.isDirectory() && nw.isDirectory();
  } catch {
    return false;
  }
}

async function startsWithFromLine(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(5);
    const { bytesRead } = await fh.read(buf, 0, 5, 0);
    return bytesRead === 5 && buf.toString('latin1') === 'From ';
  } finally {
    await fh.close();
  }
}

/** What kind of source a path is: Maildir (has cur/ and new/), a folder of .eml files, an mbox file, or one message file. */
export async function detectKind(path: string): Promise<FileSourceKind> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    throw new AppError('E_INPUT', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (st.isDirectory()) return (await isMaildir(path)) ? 'maildir' : 'eml-folder';
  if (!st.isFile()) throw new AppError('E_INPUT', `${path} is neither a file nor a folder`);
  return (await startsWithFromLine(path)) ? 'mbox' : 'eml';
}

/** Maildir receipt time: the file name starts with the delivery time in seconds (maildir(5)). */
function maildirTime(name: string, mtimeMs: number): Date {
  const secs = /^(\d{9,11})\./.exec(name);
  return new Date(secs ? Number(secs[1]) * 1000 : mtimeMs);
}


/**
 * One message file (a Maildir entry or an .eml): its header block, read alone, and the whole
 * file when the header says S/MIME (up to MAX_SMIME_MESSAGE_BYTES), for harvesting.
 */
async function readMessageFile(path: string, sourceKey: string, receivedAt: (mtimeMs: number) => Date): Promise<SourceItem> {
  const [head, st] = await Promise.all([readHead(path), fsp.stat(path)]);
  const smime = looksSmime(head) && st.size <= MAX_SMIME_MESSAGE_BYTES;
  return { sourceKey, headerBytes: head, receivedAt: receivedAt(st.mtimeMs), ...(smime ? { smimeBytes: { kind: 'message', message: await fsp.readFile(path) } } : {}) };
}

async function* readMaildir(dir: string): AsyncGenerator<SourceItem> {
  for (const sub of ['cur', 'new']) {
    const names = (await fsp.readdir(join(dir, sub))).filter((n) => !n.startsWith('.')).sort();
    for (const name of names) {
      // Flags after ":2," change when the message is read; the unique part before ':' does not.
      const unique = name.split(':')[0];
      try {
        yield await readMessageFile(join(dir, sub, name), `file:${resolve(dir)}#${unique}`, (mtimeMs) => maildirTime(name, mtimeMs));
      } catch {
        continue; // moved or deleted by the MDA while we read: it will be seen under its new name
      }
    }
  }
}

async function* walkEml(dir: string): AsyncGenerator<string> {
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (await isMaildir(p)) continue;
      yield* walkEml(p);
    } else if (e.isFile() && /\.(eml|msg|txt)$/i.test(e.name) && !e.name.startsWith('.')) yield p;
  }
}

async function readEml(path: string): Promise<SourceItem> {
  return readMessageFile(path, `file:${resolve(path)}`, (mtimeMs) => new Date(mtimeMs));
}

/**
 * Streams the messages at `path` (any kind) as SourceItems. Never loads a whole mbox: see readMbox.
 */
export async function* readFileSource(path: string): AsyncGenerator<SourceItem> {
  const kind = await detectKind(path);
  const abs = resolve(path);
  switch (kind) {
    case 'mbox':
      try {
        yield* readMbox(path, abs);
      } catch (e) {
        if ((e as { code?: string }).code === 'E_NOT_MBOX') throw new AppError('E_INPUT', `${path}: ${(e as Error).message}`);
        throw e;
      }
      return;
    case 'maildir':
      yield* readMaildir(path);
      return;
    case 'eml-folder':
      for await (const p of walkEml(path)) yield await readEml(p);
      return;
    case 'eml':
      yield await readEml(path);
      return;
  }
}

