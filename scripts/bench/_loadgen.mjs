#!/usr/bin/env node
// HTTP load generator for the http benchmark, run in its own process (pinned to another CPU than
// the server where taskset works), so the client's own CPU use cannot cap or distort the server.
//   node _loadgen.mjs '{"url":..., "route":"ping"|"get"|"post", "duration":5, "connections":50,
//                      "overallRate":null, "n":1000000, "unknownShare":0.1, "seed":1, "batch":1000,
//                      "amount":null}'
// `amount` runs a fixed number of requests instead of `duration` seconds (warm-ups: the same
// work for every route whatever the machine's load).
// Prints one JSON line: { requests, total, latency: { p50, p99, ... }, non2xx, errors }.
//
// Addresses are drawn uniformly from all N generated addresses (user%07d@customer%03d.example,
// i in [0, N)) with a 32-bit PRNG, plus a share of addresses that were never seen — so a
// "1M-address" run really reads across the whole table.
import autocannon from 'autocannon';

const o = JSON.parse(process.argv[2]);

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = mulberry32(o.seed ?? 1);
const addr = () => {
  if (rand() < (o.unknownShare ?? 0.1)) return `nobody${Math.floor(rand() * 1e9)}@unknown${Math.floor(rand() * 997)}.example`;
  const k = Math.floor(rand() * o.n);
  return `user${String(k).padStart(7, '0')}@customer${String(k % 997).padStart(3, '0')}.example`;
};

let requests;
if (o.route === 'ping') requests = [{ method: 'GET', setupRequest: (req) => ({ ...req, path: '/v1/ping' }) }];
else if (o.route === 'get') requests = [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/recipients/${addr()}` }) }];
else if (o.route === 'post') {
  // Bodies made up front: building 1000 addresses per request would make the client the bottleneck.
  const bodies = Array.from({ length: 50 }, () => JSON.stringify({ addresses: Array.from({ length: o.batch ?? 1000 }, addr) }));
  let b = 0;
  requests = [
    {
      method: 'POST',
      path: '/v1/recipients/lookup',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: bodies[b++ % bodies.length] }),
    },
  ];
} else throw new Error(`unknown route ${o.route}`);

const opts = { url: o.url, ...(o.amount ? {} : { duration: o.duration }), connections: o.connections ?? 50, pipelining: 1, requests };
if (o.overallRate) opts.overallRate = o.overallRate;
if (o.amount) opts.amount = o.amount;
autocannon(opts, (err, r) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ requests: r.requests.average, total: r.requests.total, latency: r.latency, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts }) + '\n');
  process.exit(0);
});
