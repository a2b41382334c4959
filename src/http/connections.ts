/**
 * The listener's connection cap and graceful close. Node's own closeIdleConnections() would
 * destroy sockets: a socket whose response has ended counts as idle even while the end of a
 * large export still sits in its write buffer, so the download would be cut off. Instead, idle
 * sockets are ended (pending data flushed, then FIN) and busy ones as soon as their response is done.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Marks the end of one request on its socket (called from the server's onResponse hook). */
export type RequestDone = (socket: Socket) => void;

/**
 * Caps open connections at `maxConnections` and replaces the server's closeIdleConnections.
 * Adds an onRequest hook that counts requests in flight per socket: register it before any
 * hook that may refuse a request, so a refused request is counted in and out like any other.
 */
export function trackConnections(fastify: FastifyInstance, maxConnections: number): RequestDone {
  const sockets = new Map<Socket, number>(); // open socket -> requests in flight on it
  let closing = false;
  fastify.server.on('connection', (s: Socket) => {
    if (sockets.size >= maxConnections) {
      // At the cap: close the oldest connection with no request in flight (Map order is
      // arrival order), so idle or header-trickling sockets cannot lock clients out. When every
      // connection is busy, the new one is refused instead.
      let victim: Socket | undefined;
      for (const [o, n] of sockets) {
        if (n === 0) {
          victim = o;
          break;
        }
      }
      if (victim === undefined) {
        s.destroy();
        return;
      }
      sockets.delete(victim);
      victim.destroy();
    }
    sockets.set(s, 0);
    s.once('close', () => sockets.delete(s));
  });
  fastify.server.closeIdleConnections = (): void => {
    closing = true;
    for (const [s, n] of sockets) if (n === 0) s.end();
  };
  // Callback style: no promise per request on the hot path.
  fastify.addHook('onRequest', (req, _reply, done) => {
    const n = sockets.get(req.raw.socket);
    if (n !== undefined) sockets.set(req.raw.socket, n + 1);
    done();
  });
  return (s) => {
    const n = sockets.get(s);
    if (n !== undefined) {
      sockets.set(s, n - 1);
      if (closing && n <= 1) s.end();
    }
  };
}
