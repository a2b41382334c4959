// Makes the V8 code cache of the `import -` script (scripts/bundle-cli.mjs bundles it;
// src/cli/code-cache.ts says why and how a start uses it).
//
// The cache holds what V8 compiled while the script ran one real delivery of a plain message
// into an existing census (made here in a temporary folder), with a YAML config file as the
// README's MTA recipes use: the functions every delivery runs, not only the top level. Made in a child process with PATH as its only environment and
// no node flags, as pipe(8) runs the census: V8 rejects a cache made under other V8 flags
// (NODE_OPTIONS in the build's environment, for one).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A plain message as a support mailbox receives it (no S/MIME, no encoded words). */
function warmUpMessage(n) {
  return [
    'Return-Path: <customer@example.com>',
    'Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.net with ESMTPS id 4F1; Tue, 01 Dec 2026 10:00:00 +0000',
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1; h=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==',
    'Authentication-Results: mx.example.net; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com',
    'From: Customer <customer@example.com>',
    'To: support@example.net',
    'Subject: Order question',
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    `Message-ID: <code-cache-${n}@example.com>`,
    'MIME-Version: 1.0',
    'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
    'Content-Type: text/plain; charset=UTF-8; format=flowed',
    'Content-Transfer-Encoding: 7bit',
    '',
    'Hello, where is my order?',
    '',
  ].join('\r\n');
}

function run(args, input) {
  const r = spawnSync(process.execPath, args, { input, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`code cache: node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** Writes the code cache of `script` (an absolute path) for this node; `root` is the package root. */
export function makeCodeCache(root, script) {
  const dir = mkdtempSync(join(tmpdir(), 'census-code-cache-'));
  try {
    const config = join(dir, 'census.yaml');
    writeFileSync(config, `# the code cache's warm-up census\ndb: ${JSON.stringify(join(dir, 'census.db'))}\nlogLevel: info\n`);
    // The first delivery creates and migrates the census: not what an MTA's deliveries run.
    run([join(root, 'dist', 'cli', 'main.js'), '--config', config, 'import', '-'], warmUpMessage(1));
    run([fileURLToPath(import.meta.url), '--child', script, config], warmUpMessage(2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The child: one delivery through the script, then its compiled code, written whole or not at all.
if (process.argv[2] === '--child') {
  const [script, config] = process.argv.slice(3);
  const { runCachedScript, codeCacheFile } = await import(pathToFileURL(join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'cli', 'code-cache.js')).href);
  const run = runCachedScript(script);
  await run.exports.importStdin({ config }, { json: true });
  const file = codeCacheFile(script);
  writeFileSync(`${file}.tmp`, run.compiled.createCachedData());
  renameSync(`${file}.tmp`, file);
}
