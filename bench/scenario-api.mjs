// (c, API) This dispatcher through POST /v1/events in batches of 1000, `postback start`
// (API + worker in one process) as a child, history/metrics/logs on.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, sleep } from './lib.mjs';

const { TARGET, N } = process.env;
const n = Number(N);
const port = await freePort();
const endpoints = join(tmpdir(), `pbd-bench-endpoints-${process.pid}.json`);
writeFileSync(endpoints, JSON.stringify([{ id: 'bench', url: `${TARGET}/pb?click_id={click_id}&payout={payout}&e={event_id}` }]));
const child = spawn(process.execPath, ['dist/src/cli/main.js', 'start'], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', POSTBACK_ENDPOINTS: endpoints },
  stdio: ['ignore', 'ignore', 'inherit'],
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
// Warm-up.
await post(10_000_000, 1000);
while ((await delivered()) < 1000) await sleep(20);
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
while ((await delivered()) < 1000 + n) await sleep(10);
const seconds = (performance.now() - t0) / 1000;
child.kill('SIGTERM');
await agent.close();
process.stdout.write(`${JSON.stringify({ deliveries: n, seconds, per_second: n / seconds })}\n`);
process.exit(0);
