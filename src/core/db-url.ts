/** How a `db` setting names its database: PostgreSQL URLs, other URLs, file paths (core: config, store and the CLI all ask). */

/** `postgres://` or `postgresql://` (any case): a PostgreSQL database, never a file path. */
const PG_URL = /^postgres(?:ql)?:\/\//i;
/** Anything else that looks like a URL is a mistake, not a file name. */
export const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
/**
 * `postgres:` or `postgresql:` without the `//` (a typo such as `postgresql:/host/db`): meant as
 * a PostgreSQL URL, so it must fail as one, never become a SQLite file named after it.
 */
const MISSPELT_PG_URL = /^postgres(?:ql)?:(?!\/\/)/i;
/**
 * `user:password@` after any `//` in the string: the URL parser redacts only the outer URL's
 * password, and a second URL pasted into the database name carries its own. The classes stop
 * at `/`, `@` and white space, so each match is bounded by the next of them.
 */
const USERINFO_WITH_PASSWORD = /(\/\/[^/@:\s]*):[^/@\s]*@/g;

/** True when `db` names a PostgreSQL database. */
export function isPostgresUrl(db: string): boolean {
  return PG_URL.test(db);
}

/** True when `db` starts like a PostgreSQL URL but lacks its `//` (see MISSPELT_PG_URL). */
export function isMisspeltPostgresUrl(db: string): boolean {
  return MISSPELT_PG_URL.test(db);
}

/** The URL without its password (for logs and error messages). */
export function redactDbUrl(db: string): string {
  if (MISSPELT_PG_URL.test(db)) return db.replace(/^(postgres(?:ql)?:\/?)[^@]*@/i, '$1***@');
  if (!OTHER_URL.test(db)) return db;
  let out: string;
  try {
    const u = new URL(db);
    if (u.password) u.password = '***';
    out = u.toString();
  } catch {
    out = db.replace(/:\/\/[^@/]*@/, '://***@');
  }
  return out.replace(USERINFO_WITH_PASSWORD, '$1:***@');
}
