/**
 * The one place where error codes become HTTP statuses, and where every error the HTTP API
 * returns gets its JSON body `{ error: { code, message } }`. Unknown errors become a generic
 * 500 body: stack traces and internal messages never leave the process.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, type ErrorCode } from '../core/index.js';

/** HTTP status per error code; codes not listed are 500. */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  E_ADDRESS: 400,
  E_USAGE: 400,
  E_INPUT: 400,
  E_AUTH: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_LIMIT: 413,
  E_DB: 503,
};

/** Body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Status for an error code (500 for anything not mapped). */
export function statusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/** Maps fastify's own errors (validation, body limit, content type) onto our codes. */
function fromFastify(e: FastifyError): { status: number; code: ErrorCode; message: string } | null {
  if (e.validation) return { status: 400, code: 'E_USAGE', message: `invalid request: ${e.message}` };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'E_LIMIT', message: e.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'E_USAGE', message: e.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'E_USAGE', message: e.message };
  }
  // Body parser errors (malformed JSON) carry a 4xx statusCode.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, code: 'E_USAGE', message: e.message };
  return null;
}

/** Status code and body for any thrown value. */
export function toHttpError(e: unknown): { status: number; body: ErrorBody } {
  if (isAppError(e)) {
    const status = statusOf(e.code);
    // A 500 keeps its code for the operator's log, not its message (it may carry internals).
    const message = status === 500 ? 'internal error' : e.message;
    return { status, body: { error: { code: status === 500 ? 'E_INTERNAL' : e.code, message } } };
  }
  const f = fromFastify(e as FastifyError);
  if (f) return { status: f.status, body: { error: { code: f.code, message: f.message } } };
  return { status: 500, body: { error: { code: 'E_INTERNAL', message: 'internal error' } } };
}

/** Whether the request announced a body (RFC 9112 6.3: Transfer-Encoding, or a Content-Length above 0). */
function hasBody(req: FastifyRequest): boolean {
  const h = req.raw.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const length = h['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * fastify error handler. Client errors are logged at debug only: their messages may echo an
 * address (personal data). Server errors are logged at error with the stack, never the body.
 */
export function errorHandler(e: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toHttpError(e);
  if (status >= 500) req.log.error({ err: e, code: isAppError(e) ? e.code : (e.code ?? 'E_INTERNAL') }, 'request failed');
  else req.log.debug({ code: body.error.code, message: body.error.message }, 'request rejected');
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="smime-census"');
  // Refused before its body was read (no token, too large): close the connection after the
  // answer instead of keeping a socket that may trickle the rest of a huge body for hours. A
  // request without a body (a GET's bad address) keeps its connection: Node marks it complete
  // only after its handler has run.
  if (status < 500 && !req.raw.complete && hasBody(req)) void reply.header('connection', 'close');
  void reply.code(status).type('application/json; charset=utf-8').send(body);
}
