/** How a `db` setting names its database: PostgreSQL URLs, other URLs, file paths. */

/** `postgres://` or `postgresql://` (any case): a PostgreSQL database, never a file path. */
const PG_URL = /^postgres(?:ql)?:\/\//i;
/** Anything else that looks like a URL is a mistake, not a file name. */
export const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** True when `db` names a PostgreSQL database. */
export function isPostgresUrl(db: string): boolean {
  return PG_URL.test(db);
}

/** The URL without its password (for logs and error messages). */
export function redactDbUrl(db: string): string {
  if (!OTHER_URL.test(db)) return db;
  try {
    const u = new URL(db);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return db.replace(/:\/\/[^@/]*@/, '://***@');
  }
}
