// One run of `npm run bench -- --cluster`: the dispatcher (library producer and worker in one
// process) on a Redis Cluster (REDIS_CLUSTER_NODES) with QUEUE_SHARDS shards, ENDPOINTS
// endpoints on one receiver, N postbacks after a warm-up. Per master: commands, CPU time,
// keys, and instantaneous_ops_per_sec sampled while it runs.
import { createWriteStream } from 'node:fs';
import { Redis } from 'ioredis';
import { loadConfig } from '../dist/src/config/schema.js';
import { createLogger } from '../dist/src/logging/logger.js';
import { Runtime } from '../dist/src/runtime/runtime.js';
import { startWorker } from '../dist/src/worker/worker-service.js';
import { sleep } from './lib.mjs';

const { TARGET, N, ENDPOINTS, LOG_FILE } = process.env;
const n = Number(N);
const config = loadConfig(process.env);
const logger = createLogger(config.logLevel, createWriteStream(LOG_FILE ?? '/dev/null'));
const runtime = await Runtime.create(config, logger);
const endpointIds = Array.from({ length: Number(ENDPOINTS) }, (_, i) => `bench-${i}`);
await runtime.registry.upsert(endpointIds.map((id) => ({ id, url: `${TARGET}/pb/${id}?e={event_id}` })));
const masters = config.redisClusterNodes.map(({ host, port }) => ({ port, admin: new Redis({ host, port }) }));

async function perMaster() {
  return Promise.all(
    masters.map(async ({ port, admin }) => {
      const stats = await admin.info('commandstats');
      const cpu = await admin.info('cpu');
      let calls = 0;
      for (const m of stats.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
      const num = (re) => Number(re.exec(cpu)?.[1] ?? 0);
      return { port, calls, cpu_s: num(/used_cpu_sys:([\d.]+)/) + num(/used_cpu_user:([\d.]+)/), keys: await admin.dbsize() };
    }),
  );
}
async function delivered() {
  const v = await runtime.metrics.finals.get();
  return v.values.reduce((a, x) => a + x.value, 0);
}
async function produceAll(count, offset) {
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, (_, j) => {
      const k = offset + i + j;
      return { id: `ev-${k}`, type: 'conversion', endpoint_id: endpointIds[k % endpointIds.length], payout: 0.5 };
    });
    await runtime.producer.produce(batch, { batch: true });
  }
}

const worker = startWorker(runtime);
const warm = 2000;
await produceAll(warm, 10_000_000);
while ((await delivered()) < warm) await sleep(10);
const before = await perMaster();
const cpuBefore = process.cpuUsage();
const samples = new Map(masters.map((m) => [m.port, []]));
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    await sleep(500);
    for (const { port, admin } of masters) {
      const info = await admin.info('stats');
      samples.get(port).push(Number(/instantaneous_ops_per_sec:(\d+)/.exec(info)[1]));
    }
  }
})();
const t0 = performance.now();
await produceAll(n, 0);
while ((await delivered()) < warm + n) await sleep(10);
const seconds = (performance.now() - t0) / 1000;
sampling = false;
await sampler;
const cpu = process.cpuUsage(cpuBefore);
const after = await perMaster();
const result = {
  shards: config.queueShards,
  deliveries: n,
  seconds,
  per_second: n / seconds,
  dispatcher_cpu_ms_per_delivered: (cpu.user + cpu.system) / 1000 / n,
  masters: after.map((a, i) => {
    const b = before[i];
    const ops = samples.get(a.port);
    return {
      port: a.port,
      keys_at_end: a.keys,
      commands: a.calls - b.calls,
      commands_per_second: (a.calls - b.calls) / seconds,
      cpu_ms_per_delivered: ((a.cpu_s - b.cpu_s) * 1000) / n,
      cpu_share: (a.cpu_s - b.cpu_s) / seconds,
      instantaneous_ops_per_sec_mean: ops.length ? ops.reduce((x, y) => x + y, 0) / ops.length : null,
      instantaneous_ops_per_sec_max: ops.length ? Math.max(...ops) : null,
    };
  }),
};
await worker.close();
for (const m of masters) m.admin.disconnect();
await runtime.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
