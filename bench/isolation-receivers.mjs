// Publisher stand-ins for `npm run bench -- --isolation`, loopback only. One process per
// call, listening on every port given (each port = one publisher origin):
//   node bench/isolation-receivers.mjs healthy PORT        answers 200 at once
//   node bench/isolation-receivers.mjs slow MS PORT...     answers 200 after MS ms
//   node bench/isolation-receivers.mjs dead PORT...        accepts TCP, reads, never answers
// Prints "READY <first port>" once every port listens (what lib.mjs startChild waits for).
// Postback URLs carry e={event_id}&t={sent_ms}: the healthy receiver keeps arrival - sent
// per event id (first arrival; duplicates counted). The parent asks for figures over IPC:
// {id, cmd: 'report', prefix, before} -> {id, ...figures}.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const [mode, ...rest] = process.argv.slice(2);
const slowMs = mode === 'slow' ? Number(rest.shift()) : 0;
const ports = rest.map(Number);
if (!['healthy', 'slow', 'dead'].includes(mode) || ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0)) {
  process.stderr.write('usage: isolation-receivers.mjs healthy PORT | slow MS PORT... | dead PORT...\n');
  process.exit(2);
}

/** Event id -> { at: first arrival (healthy) or first 200 sent (slow), latency ms, n: requests }. */
const seen = new Map();
let requests = 0;
let connections = 0;
const servers = [];

function query(url) {
  const e = /[?&]e=([^&]*)/.exec(url)?.[1];
  const t = Number(/[?&]t=(\d+)/.exec(url)?.[1]);
  return { e: e === undefined ? undefined : decodeURIComponent(e), t };
}

// ISOLATION_TRACE=FILE: one "sent_ms latency_ms" line per first arrival, to see when latency rose.
const trace = process.env.ISOLATION_TRACE && mode === 'healthy' ? (await import('node:fs')).createWriteStream(process.env.ISOLATION_TRACE) : undefined;

function note(e, t, at) {
  if (e === undefined) return;
  const s = seen.get(e);
  if (s) s.n++;
  else {
    seen.set(e, { at, latency: Number.isFinite(t) ? at - t : null, n: 1 });
    if (trace && Number.isFinite(t)) trace.write(`${t} ${at - t}\n`);
  }
}

function httpServer(handler) {
  const server = createHttpServer(handler);
  // Keep the dispatcher's keep-alive connections, as a real publisher would.
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => connections++);
  return server;
}

for (const port of ports) {
  let server;
  if (mode === 'healthy') {
    server = httpServer((req, res) => {
      requests++;
      req.resume(); // consume the body (none for GET, but never leave one unread)
      req.on('end', () => {
        const { e, t } = query(req.url);
        note(e, t, Date.now());
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK');
      });
    });
  } else if (mode === 'slow') {
    server = httpServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        const timer = setTimeout(() => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('OK', () => {
            const { e, t } = query(req.url);
            note(e, t, Date.now()); // counted as delivered once the 200 has gone out
          });
        }, slowMs);
        // The dispatcher gave up (timeout, shutdown): do not answer a closed socket.
        res.on('close', () => clearTimeout(timer));
      });
    });
  } else {
    // A bare TCP listener: accepts, reads and discards what it is sent, never answers.
    server = createTcpServer((socket) => {
      connections++;
      socket.on('error', () => {});
      socket.resume();
    });
  }
  server.on('error', (err) => {
    process.stderr.write(`isolation-receivers (${mode}) port ${port}: ${err.message}\n`);
    process.exit(1);
  });
  servers.push(new Promise((resolve) => server.listen(port, '127.0.0.1', resolve)));
}
await Promise.all(servers);
process.stdout.write(`READY ${ports[0]}\n`);

process.on('message', (m) => {
  if (m?.cmd !== 'report') return;
  const before = m.before ?? Number.POSITIVE_INFINITY;
  let distinct = 0;
  let total = 0;
  let distinctBefore = 0;
  const latencies = [];
  for (const [e, s] of seen) {
    if (!e.startsWith(m.prefix)) continue;
    distinct++;
    total += s.n;
    if (s.at <= before) distinctBefore++;
    if (s.latency !== null) latencies.push(s.latency);
  }
  latencies.sort((a, b) => a - b);
  process.send?.({ id: m.id, mode, requests, connections, distinct, total, duplicates: total - distinct, distinct_before: distinctBefore, latencies: m.latencies ? latencies : undefined });
});
// Never outlive the benchmark: when the parent goes (even killed), so do we.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
