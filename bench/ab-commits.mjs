// Side by side: one scenario of two checkouts of this project, alternating, against one Redis
// and one receiver: `node bench/ab-commits.mjs OTHER_CHECKOUT [ROUNDS]`. Both must be built
// (npm run build). AB_MODE picks the scenario as `npm run bench` runs it: throughput (the
// default, (c)), latency (at 2000/s) or lateness-open (retries of an endpoint whose circuit
// is open). Prints each run and the medians; measures a change, not the machine.
import { resolve } from 'node:path';
import { runScenario, startChild, startRedis } from './lib.mjs';

const other = process.argv[2];
const rounds = Number(process.argv[3] ?? 4);
if (!other) {
  console.error('usage: node bench/ab-commits.mjs OTHER_CHECKOUT [ROUNDS]');
  process.exit(2);
}
const redis = await startRedis();
const env = {
  REDIS_URL: redis.url, CONCURRENCY: '100', WORKER_CONCURRENCY: '100', PER_ORIGIN_CONCURRENCY: '100',
  ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'info', QUEUE_PREFIX: 'bench', N: process.env.BENCH_N ?? '20000',
};
const MODES = {
  throughput: { env: { MODE: 'throughput' }, figures: (o) => ({ per_second: o.per_second }) },
  latency: { env: { MODE: 'latency', N: '10000', RATE: '2000' }, figures: (o) => ({ p50_ms: o.p50_ms, p99_ms: o.p99_ms }) },
  'lateness-open': { env: { MODE: 'lateness-open', N: '1000', RETRY_SCHEDULE: '0,0.5' }, figures: (o) => ({ samples: o.samples, p50_ms: o.p50_ms, p99_ms: o.p99_ms }) },
};
const mode = MODES[process.env.AB_MODE ?? 'throughput'];
if (!mode) {
  console.error(`AB_MODE must be one of ${Object.keys(MODES).join(', ')}`);
  process.exit(2);
}
const runs = { this: [], other: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, dir] of [['this', '.'], ['other', other]]) {
      await redis.redis.flushall();
      // A receiver per run: the failing paths fail each event id's first request only.
      const { child: receiver, port } = await startChild(['bench/receiver.mjs', '0']);
      let out;
      try {
        out = await runScenario(resolve(dir, 'bench/scenario-dispatcher.mjs'), { ...env, ...mode.env, TARGET: `http://127.0.0.1:${port}` });
      } finally {
        receiver.kill('SIGTERM');
      }
      const figures = mode.figures(out);
      runs[name].push(figures);
      console.log(`${name} round ${r + 1}: ${JSON.stringify(figures)}`);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const key of Object.keys(runs.this[0])) {
    const a = med(runs.this.map((f) => f[key]));
    const b = med(runs.other.map((f) => f[key]));
    console.log(`median ${key}: this ${a.toFixed(1)}, other ${b.toFixed(1)}, this/other ${(a / b).toFixed(2)}`);
  }
} finally {
  redis.stop();
}
