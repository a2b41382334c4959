/**
 * The HTTP component's logger. Addresses are personal data: at info a request URL loses its
 * address segment (and anything else that is not plain text); at debug its path stays. The query
 * string can carry tokens or addresses and is never logged.
 */
import type { Logger } from '../app/index.js';

const RECIPIENT_PATH = /^(\/v1\/recipients\/)[^/?]*/;
/** A path segment that cannot hold an address or a token: letters, digits and `-._~`. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]*$/;

/** The path of a request URL: a query string can carry tokens or addresses and is never logged. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * A request URL fit for logs at info level: no query string, the address segment of
 * /v1/recipients/… replaced, and any other segment that is not plain text (an address in an odd
 * URL such as /V1/recipients/x@y or /v1//recipients/x%40y) replaced too.
 */
export function redactUrl(url: string): string {
  const path = pathOf(url).replace(RECIPIENT_PATH, '$1:address');
  return path
    .split('/')
    .map((seg) => (PLAIN_SEGMENT.test(seg) || seg === ':address' ? seg : ':redacted'))
    .join('/');
}

/** A child `{ component: 'http' }` of `parent` whose request serializer applies the rules above. */
export function httpLogger(parent: Logger): Logger {
  const debug = parent.isLevelEnabled('debug');
  return parent.child(
    { component: 'http' },
    {
      serializers: {
        // At info a matched request logs its route pattern; at debug its path. Never the query.
        req: (req: { method: string; url: string; ip?: string; routeOptions?: { url?: string } }) => ({
          method: req.method,
          url: debug ? pathOf(req.url) : (req.routeOptions?.url ?? redactUrl(req.url)),
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  );
}
