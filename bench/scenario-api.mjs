// (c, API) This dispatcher through POST /v1/events in batches of 1000, `postback start`
// (API + worker in one process) as a child, history/metrics/logs on. Its info-level logs
// go where the library run's do (LOG_FILE, else /dev/null), not to this terminal.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, sleep } from './lib.mjs';

const { TARGET, N, LOG_FILE } = process.env;
const n = Number(N);
const port = await freePort();
const endpoints = join(tmpdir(), `pbd-bench-endpoints-${process.pid}.json`);
writeFileSync(endpoints, JSON.stringify([{ id: 'bench', url: `${TARGET}/pb?click_id={click_id}&payout={payout}&e={event_id}` }]));
const logFd = openSync(LOG_FILE ?? '/dev/null', 'a');
const child = spawn(process.execPath, ['dist/src/cli/main.js', 'start'], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', POSTBACK_ENDPOINTS: endpoints },
  stdio: ['ignore', 'ignore', logFd],
});
closeSync(logFd);
let finished = false;
child.once('exit', (code, signal) => {
  if (finished) return;
  process.stderr.write(`scenario-api: postback start exited early (${code ?? signal}); set LOG_FILE to keep its log\n`);
  process.exit(1);
});
const base = `http://127.0.0.1:${port}`;
const agent = new Agent({ connections: 4 });
for (;;) {
  try {
    const r = await request(`${base}/readyz`, { dispatcher: agent });
    await r.body.dump();
    if (r.statusCode === 200) break;
  } catch {
    // not up yet
  }
  await sleep(50);
}
async function delivered() {
  const r = await request(`${base}/metrics`, { dispatcher: agent });
  const text = await r.body.text();
  const m = /^postback_deliveries_total\{outcome="delivered"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}
async function post(offset, count) {
  const events = Array.from({ length: count }, (_, j) => ({ id: `api-${offset + j}`, type: 'conversion', endpoint_id: 'bench', click_id: `c${offset + j}`, payout: 0.5, offer_id: '42' }));
  const r = await request(`${base}/v1/events`, { dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  await r.body.dump();
  if (r.statusCode !== 202) throw new Error(`POST /v1/events: ${r.statusCode}`);
}
// Each /metrics scrape costs the server a full collection (~1 ms of its CPU, Redis reads),
// which the library run's in-process counter read does not: scrape every 100 ms while the
// end is far, and every 10 ms once it is due within ~20 ms at the rate seen so far.
async function waitDelivered(goal) {
  let last = await delivered();
  let lastAt = performance.now();
  let rate = 0; // per ms
  while (last < goal) {
    const dueMs = rate > 0 ? (goal - last) / rate : 0;
    await sleep(Math.min(100, Math.max(10, dueMs / 2 - 10)));
    const now = performance.now();
    const count = await delivered();
    if (count > last) rate = (count - last) / (now - lastAt);
    last = count;
    lastAt = now;
  }
}
// Warm-up.
await post(10_000_000, 1000);
await waitDelivered(1000);
const t0 = performance.now();
// Two producers in parallel, as clients would.
let next = 0;
async function lane() {
  while (next < n) {
    const at = next;
    next += 1000;
    await post(at, Math.min(1000, n - at));
  }
}
await Promise.all([lane(), lane()]);
const acceptSeconds = (performance.now() - t0) / 1000;
await waitDelivered(1000 + n);
const seconds = (performance.now() - t0) / 1000;
finished = true;
child.kill('SIGTERM');
await agent.close();
process.stdout.write(`${JSON.stringify({ deliveries: n, seconds, per_second: n / seconds, accept_seconds: acceptSeconds })}\n`);
process.exit(0);
