/**
 * The CLI's global options. Their own module so commands do not import main.ts (the entry point
 * imports the commands: that was the CLI's import cycle).
 */

/** Options given before the command (`smime-census --db x lookup …`). */
export interface GlobalOptions {
  db?: string;
  config?: string;
  logLevel?: string;
}
