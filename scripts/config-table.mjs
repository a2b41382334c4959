#!/usr/bin/env node
/** Rewrites the README's configuration table from src/config/keys.ts and the schema's defaults (run after `npm run build`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../dist/config/describe.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withConfigTable(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README configuration table: up to date' : 'README configuration table: rewritten');
