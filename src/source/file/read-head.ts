// fs.promises, not node:fs/promises: the bundled `import -` script then loads Node's promise API
// (and the readline modules behind it, ~1.5 ms) only when a file is read, not at every delivery from stdin.
import { promises as fsp } from 'node:fs';
import { MAX_HEADER_BYTES } from '../../core/index.js';

const FIRST_READ = 64 * 1024;

/**
 * Reads only the header block of a message file: 64 KiB first (enough for nearly all mail),
 * more only when no blank line was found, never more than the header limit plus a little, so
 * a 50 MB attachment costs one small read.
 */
export async function readHead(path: string): Promise<Buffer> {
  const fh = await fsp.open(path, 'r');
  try {
    let size = FIRST_READ;
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(buf, 0, size, 0);
      const data = buf.subarray(0, bytesRead);
      if (bytesRead < size || data.indexOf('\n\n') >= 0 || data.indexOf('\n\r\n') >= 0 || size > MAX_HEADER_BYTES) return data;
      size = Math.min(size * 4, MAX_HEADER_BYTES + 1024);
    }
  } finally {
    await fh.close();
  }
}
