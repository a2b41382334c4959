// The Maildir and .eml readers of src/source/file: what kind a path is, which files are
// messages, the key that keeps a message the same message when its flags change, the receipt
// time, and how much of a file is read.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { detectKind, readFileSource, readHead } from '../../src/source/file/index.js';
import { MAX_HEADER_BYTES, MAX_SMIME_MESSAGE_BYTES, type SourceItem } from '../../src/core/index.js';

const t = tempDir('census-file-source-');
afterAll(() => t.cleanup());

const plain = (from: string, body = 'hello\n'): string => `From: ${from}\nMessage-ID: <${from}>\nSubject: x\n\n${body}`;
const signed = (from: string): string =>
  `From: ${from}\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="b"\n\n--b\n\nbody\n--b--\n`;

async function collect(path: string): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of readFileSource(path)) out.push(item);
  return out;
}

function maildir(name: string): string {
  const dir = join(t.dir, name);
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  return dir;
}

describe('detectKind', () => {
  it('tells a Maildir, a folder of .eml files, an mbox and one message apart', async () => {
    const md = maildir('kind-md');
    const folder = join(t.dir, 'kind-eml');
    mkdirSync(folder);
    const mbox = join(t.dir, 'kind.mbox');
    writeFileSync(mbox, `From a@x Tue Apr  3 16:55:26 2012\n${plain('a@x.example')}`);
    const eml = join(t.dir, 'kind.eml');
    writeFileSync(eml, plain('b@x.example'));
    expect(await detectKind(md)).toBe('maildir');
    expect(await detectKind(folder)).toBe('eml-folder');
    expect(await detectKind(mbox)).toBe('mbox');
    expect(await detectKind(eml)).toBe('eml');
  });

  it('a missing path or a device is a clear input error', async () => {
    await expect(detectKind(join(t.dir, 'nope'))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('ENOENT') });
    await expect(detectKind('/dev/null')).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('neither a file nor a folder') });
  });
});

describe('Maildir', () => {
  it('reads new/ and cur/, skips dotfiles and tmp/, and dates a message by its file name', async () => {
    const md = maildir('md-read');
    writeFileSync(join(md, 'new', '1700000000.M1P1.host'), plain('new@x.example'));
    writeFileSync(join(md, 'cur', '1600000000.M2P2.host:2,S'), plain('cur@x.example'));
    writeFileSync(join(md, 'cur', '.hidden'), plain('hidden@x.example'));
    writeFileSync(join(md, 'tmp', '1700000001.M3P3.host'), plain('tmp@x.example'));
    const items = await collect(md);
    expect(items.map((i) => Buffer.from(i.headerBytes).toString().split('\n')[0])).toEqual(['From: cur@x.example', 'From: new@x.example']);
    expect(items.map((i) => i.receivedAt?.toISOString())).toEqual([new Date(1600000000_000).toISOString(), new Date(1700000000_000).toISOString()]);
  });

  it('keeps the key of a message when the MUA moves it to cur/ and changes its flags', async () => {
    const md = maildir('md-flags');
    writeFileSync(join(md, 'new', '1700000000.M9P9.host'), plain('move@x.example'));
    const [before] = await collect(md);
    renameSync(join(md, 'new', '1700000000.M9P9.host'), join(md, 'cur', '1700000000.M9P9.host:2,RS'));
    const [after] = await collect(md);
    expect(after!.sourceKey).toBe(before!.sourceKey);
    expect(before!.sourceKey).toBe(`file:${resolve(md)}#1700000000.M9P9.host`);
  });

  it('dates a message whose name carries no time by its mtime', async () => {
    const md = maildir('md-mtime');
    const p = join(md, 'cur', 'handmade');
    writeFileSync(p, plain('hand@x.example'));
    utimesSync(p, new Date('2021-02-03T04:05:06Z'), new Date('2021-02-03T04:05:06Z'));
    const [item] = await collect(md);
    expect(item!.receivedAt?.toISOString()).toBe('2021-02-03T04:05:06.000Z');
  });
});

describe('.eml folders', () => {
  it('walks sub-folders in name order, takes .eml/.msg/.txt files only, and leaves a nested Maildir alone', async () => {
    const root = join(t.dir, 'eml-walk');
    mkdirSync(join(root, 'b-sub'), { recursive: true });
    writeFileSync(join(root, 'a.eml'), plain('a@x.example'));
    writeFileSync(join(root, 'b-sub', 'c.MSG'), plain('c@x.example'));
    writeFileSync(join(root, 'd.txt'), plain('d@x.example'));
    writeFileSync(join(root, 'e.pdf'), plain('e@x.example'));
    writeFileSync(join(root, '.f.eml'), plain('f@x.example'));
    const nested = join(root, 'z-maildir');
    for (const sub of ['cur', 'new']) mkdirSync(join(nested, sub), { recursive: true });
    writeFileSync(join(nested, 'new', '1700000000.M1P1.host'), plain('nested@x.example'));
    const items = await collect(root);
    expect(items.map((i) => Buffer.from(i.headerBytes).toString().split('\n')[0])).toEqual(['From: a@x.example', 'From: c@x.example', 'From: d@x.example']);
    expect(items[0]!.sourceKey).toBe(`file:${resolve(root, 'a.eml')}`);
  });
});

describe('how much of a message file is read', () => {
  it('a big unsigned message costs one small read; a signed one is kept whole for harvesting', async () => {
    const root = join(t.dir, 'eml-size');
    mkdirSync(root);
    writeFileSync(join(root, 'a-big.eml'), plain('big@x.example', 'x'.repeat(5 * 1024 * 1024)));
    const signedText = signed('signer@x.example');
    writeFileSync(join(root, 'b-signed.eml'), signedText);
    const [big, sig] = await collect(root);
    expect(big!.headerBytes.byteLength).toBeLessThanOrEqual(64 * 1024);
    expect(big!.smimeBytes).toBeUndefined();
    expect(sig!.smimeBytes).toEqual({ kind: 'message', message: Buffer.from(signedText) });
  });

  it('a signed message over the S/MIME size limit is read for its header only', async () => {
    const p = join(t.dir, 'huge-signed.eml');
    writeFileSync(p, signed('huge@x.example') + 'y'.repeat(MAX_SMIME_MESSAGE_BYTES));
    const [item] = await collect(p);
    expect(item!.smimeBytes).toBeUndefined();
    expect(Buffer.from(item!.headerBytes).toString()).toContain('From: huge@x.example');
  });

  it('reads a header longer than the first read whole, and stops at the header limit', async () => {
    const long = join(t.dir, 'long-header.eml');
    const bigHeader = `From: long@x.example\nX-Pad: ${'p'.repeat(100 * 1024)}\n`;
    writeFileSync(long, `${bigHeader}\nbody\n`);
    const head = await readHead(long);
    expect(head.toString()).toContain(bigHeader);

    const endless = join(t.dir, 'endless-header.eml');
    writeFileSync(endless, `From: endless@x.example\n${'X-Pad: q\n'.repeat(MAX_HEADER_BYTES / 4)}`);
    expect((await readHead(endless)).byteLength).toBeLessThanOrEqual(MAX_HEADER_BYTES + 1024);
  });
});
