/**
 * main.ts runs `import -` without commander for the argument lists directStdinImport accepts
 * (an MTA starts one process per message). Those lists must mean exactly what they mean to
 * commander, and every other list must go to commander, which parses or rejects it as before.
 */
import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { createProgram } from '../../src/cli/program.js';
import { register } from '../../src/cli/commands/import.js';
import { directStdinImport } from '../../src/cli/stdin-import-args.js';
import type { GlobalOptions } from '../../src/cli/options.js';

/** What commander makes of `args` with the real program and import command: the action's arguments, or its error code. */
async function commanderParse(args: string[]): Promise<{ globals: GlobalOptions; paths: string[]; options: { json?: boolean; mbox?: boolean } } | string> {
  const program = createProgram();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program, () => program.opts());
  let seen: { paths: string[]; options: { json?: boolean; mbox?: boolean } } | undefined;
  const cmd = program.commands.find((c) => c.name() === 'import')!;
  cmd.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  cmd.action((paths: string[], options: { json?: boolean; mbox?: boolean }) => {
    seen = { paths, options: { ...options } };
  });
  try {
    await program.parseAsync(['node', 'smime-census', ...args]);
  } catch (e) {
    if (e instanceof CommanderError) return e.code;
    throw e;
  }
  if (!seen) return 'no action';
  const globals = Object.fromEntries(Object.entries(program.opts<GlobalOptions>()).filter(([, v]) => v !== undefined));
  return { globals, ...seen };
}

const ACCEPTED: string[][] = [
  ['import', '-'],
  ['--config', '/etc/smime-census/census.yaml', 'import', '-'],
  ['--db', '/var/lib/census.db', 'import', '-', '--json'],
  ['import', '--mbox', '-', '--db=/var/lib/census.db'],
  ['--log-level', 'debug', 'import', '-', '--log-level=warn', '--json', '--mbox'],
  ['--db', 'import', 'import', '-'],
  ['--db=', 'import', '-'],
  ['--db', 'a', '--db', 'b', 'import', '-'],
];

const TO_COMMANDER: string[][] = [
  ['import', '-', '-'],
  ['import', '-', 'mail.mbox'],
  ['import', '--', '-'],
  ['import', '-', '--bogus'],
  ['import', '-', '-h'],
  ['import', '-', '--help'],
  ['--json', 'import', '-'],
  ['import'],
  ['import', '--json'],
  ['--db', '-x', 'import', '-'],
  ['import', '-', '--db'],
  ['--version'],
  ['help', 'import'],
  ['lookup', '-'],
  ['-', 'import'],
  ['import', '-', '--json=1'],
];

describe('directStdinImport (import - without commander)', () => {
  it.each(ACCEPTED.map((a) => [a.join(' '), a] as const))('reads `%s` as commander does', async (_, args) => {
    const direct = directStdinImport(args);
    expect(direct).not.toBeNull();
    const parsed = await commanderParse(args);
    expect(parsed).toEqual({ globals: direct!.globals, paths: ['-'], options: direct!.options });
  });

  it.each(TO_COMMANDER.map((a) => [a.join(' '), a] as const))('leaves `%s` to commander', (_, args) => {
    expect(directStdinImport(args)).toBeNull();
  });
});
