/** The stack-trace check the failing-CLI tests rely on, against the real CLI's output. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { builtCli } from './built.js';
import { noStackOnFailure } from './cli.js';

const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [builtCli(), '--config', '/nonexistent/census.yaml', 'stats'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

describe('noStackOnFailure', () => {
  it('passes a failing run that prints one line, and catches the stack CENSUS_DEBUG adds unless the run asked for it', () => {
    const plain = run({});
    expect(plain.status).not.toBe(0);
    expect(() => noStackOnFailure(plain, {})).not.toThrow();
    const debug = run({ CENSUS_DEBUG: '1' });
    expect(debug.status).not.toBe(0);
    expect(() => noStackOnFailure(debug, {})).toThrow(/stack trace on stderr/);
    expect(() => noStackOnFailure(debug, { CENSUS_DEBUG: '1' })).not.toThrow();
  });
});
