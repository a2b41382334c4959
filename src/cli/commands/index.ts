import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';

export type RegisterCommand = (program: Command, globals: () => GlobalOptions) => void;

type Loader = () => Promise<{ register: RegisterCommand }>;

/**
 * Every CLI command, in help order, loaded on demand: `export` should not pay for loading the
 * HTTP server, the IMAP client and the CMS library (about 0.5 s and 35 MB at start-up).
 * Add a command: write commands/<name>.ts exporting `register`, list it here under the command
 * name(s) it registers.
 */
const COMMAND_MODULES: ReadonlyArray<readonly [names: readonly string[], load: Loader]> = [
  [['demo'], () => import('./demo.js')],
  [['import'], () => import('./import.js')],
  [['lookup'], () => import('./lookup.js')],
  [['export'], () => import('./export.js')],
  [['stats'], () => import('./stats.js')],
  [['recompute'], () => import('./recompute.js')],
  [['show', 'forget'], () => import('./privacy.js')],
  [['certs'], () => import('./certs.js')],
  [['serve'], () => import('./serve.js')],
  [['sign'], () => import('./sign.js')],
  [['relay'], () => import('./relay.js')],
  [['classify'], () => import('./classify.js')],
  [['rules'], () => import('./rules.js')],
  [['eval'], () => import('./eval.js')],
  [['poll'], () => import('./poll.js')],
  [['store'], () => import('./store.js')],
  [['config'], () => import('./config.js')],
  [['auth'], () => import('./auth.js')],
];

/** Global options that take a value (their value is not the command name). */
const VALUE_OPTIONS = new Set(['--db', '--config', '--log-level']);

/** The command name in argv (after node and the script), or null for none (help, version). */
export function commandName(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a === 'help' ? (args[i + 1] ?? null) : a;
  }
  return null;
}

/** The register functions needed for these arguments: just the named command, or all of them (help, unknown command). */
export async function loadCommands(args: readonly string[]): Promise<RegisterCommand[]> {
  const name = commandName(args);
  const one = name === null ? undefined : COMMAND_MODULES.find(([names]) => names.includes(name));
  const wanted = one ? [one] : COMMAND_MODULES;
  return Promise.all(wanted.map(async ([, load]) => (await load()).register));
}
