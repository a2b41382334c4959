/** Which rule folders a rule command uses (shipped, configured, `--rules`). */
import { defaultRulesDir } from '../classify/index.js';
import { configFrom } from './light.js';
import type { GlobalOptions } from './options.js';

/** The shipped rules, the configured rule folders, then `--rules` folders (later ones override). */
export function ruleDirs(g: GlobalOptions, extra: readonly string[] | undefined): string[] {
  let configured: string[] = [];
  try {
    configured = [...configFrom(g).rulesDirs];
  } catch (e) {
    // Rule tools work without a configuration; a broken one is still an error worth reporting.
    if (g.config || Object.keys(process.env).some((k) => k.startsWith('CENSUS_'))) throw e;
  }
  return [defaultRulesDir(), ...configured, ...(extra ?? [])];
}
