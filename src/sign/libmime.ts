/**
 * libmime, loaded from node_modules as parse loads it (src/parse/decode.ts) rather than by a
 * static import: the CLI bundle inlines statically imported packages (scripts/bundle-cli.mjs),
 * which gave a process that parses and signs two copies of the same libmime. A require through
 * createRequire stays a plain node_modules load in the bundle. Loaded on first use, as in parse:
 * loading it also loads iconv-lite and encoding-japanese (~90 ms of CPU).
 */
import { createRequire } from 'node:module';
import type libmimeModule from 'libmime';

const require = createRequire(import.meta.url);
let loaded: typeof libmimeModule | undefined;

/** node_modules' libmime (the one copy in the process). */
export function libmime(): typeof libmimeModule {
  return (loaded ??= require('libmime') as typeof libmimeModule);
}
