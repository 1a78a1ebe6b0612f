// Scale-out: enqueue N postbacks with no worker running, then start K worker processes
// (node dist/workers/postback-worker.js) and time how long they take to drain the queue.
import { spawn } from 'node:child_process';
import { loadConfig } from '../dist/src/config/schema.js';
import { createLogger } from '../dist/src/logging/logger.js';
import { Runtime } from '../dist/src/runtime/runtime.js';
import { pendingJobs, sleep } from './lib.mjs';

const { TARGET, N, WORKERS } = process.env;
const n = Number(N);
const config = loadConfig(process.env);
const runtime = await Runtime.create(config, createLogger('silent'));
await runtime.registry.upsert([{ id: 'bench', url: `${TARGET}/pb?click_id={click_id}&payout={payout}&e={event_id}` }]);
for (let i = 0; i < n; i += 1000) {
  const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ id: `s-${i + j}`, type: 'conversion', endpoint_id: 'bench', click_id: `c${i + j}`, payout: 0.5 }));
  await runtime.producer.produce(batch, { batch: true });
}
const t0 = performance.now();
const workers = Array.from({ length: Number(WORKERS) }, () =>
  spawn(process.execPath, ['dist/workers/postback-worker.js'], { env: process.env, stdio: ['ignore', 'ignore', 'inherit'] }),
);
for (;;) {
  if ((await pendingJobs(runtime)) === 0) break;
  await sleep(10);
}
const seconds = (performance.now() - t0) / 1000;
for (const w of workers) w.kill('SIGTERM');
await runtime.close();
process.stdout.write(`${JSON.stringify({ workers: Number(WORKERS), deliveries: n, seconds, per_second: n / seconds })}\n`);
process.exit(0);
