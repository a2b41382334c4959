import { join } from 'node:path';
import { configSchema, type Config } from '../../src/config/index.js';
import { openApp, silentLogger, type AppContext } from '../../src/app/index.js';

/** An AppContext on a real SQLite file in `dir`, with a validated config (overrides merged). */
export function openTestApp(dir: string, overrides: Record<string, unknown> = {}, name = 'census.db'): AppContext {
  const config: Config = configSchema.parse({ db: join(dir, name), ...overrides });
  return openApp({ config, logger: silentLogger() });
}

/** A minimal RFC 5322 header block. */
export function headerBlock(fields: Record<string, string | string[]>, body = 'hello\n'): Buffer {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);
}
