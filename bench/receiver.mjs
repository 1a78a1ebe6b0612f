// The publisher side of the benchmark: a keep-alive HTTP server answering 200 "OK".
// Paths under /fail answer 500 to the first request of each distinct URL (retry-timer runs);
// under /failtenth, only URLs whose e= ends in 0 do (one in ten: the endpoint stays healthy).
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const failedOnce = new Set();
// Request counts per event id (the `e` parameter), to count duplicate deliveries.
const seen = new Map();
let count = 0;
const server = createServer((req, res) => {
  count++;
  const e = /[?&]e=([^&]*)/.exec(req.url)?.[1];
  if (e !== undefined) seen.set(e, (seen.get(e) ?? 0) + 1);
  req.resume();
  req.on('end', () => {
    const failing = req.url.startsWith('/failtenth') ? /0$/.test(e ?? '') : req.url.startsWith('/fail');
    if (failing && !failedOnce.has(req.url)) {
      failedOnce.add(req.url);
      res.writeHead(500);
      res.end('fail');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('OK');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
process.on('message', (m) => {
  if (m === 'count') process.send?.({ count });
  else if (m?.prefix !== undefined) {
    let total = 0;
    let distinct = 0;
    for (const [e, n] of seen) if (e.startsWith(m.prefix)) (total += n), distinct++;
    process.send?.({ prefix: m.prefix, total, distinct });
  }
});
