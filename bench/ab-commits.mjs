// Side by side: the (c) throughput run of two checkouts of this project, alternating, against
// one Redis and one receiver: `node bench/ab-commits.mjs OTHER_CHECKOUT [ROUNDS]`. Both must be
// built (npm run build). Prints each run and the medians; measures a change, not the machine.
import { resolve } from 'node:path';
import { runScenario, startChild, startRedis } from './lib.mjs';

const other = process.argv[2];
const rounds = Number(process.argv[3] ?? 4);
if (!other) {
  console.error('usage: node bench/ab-commits.mjs OTHER_CHECKOUT [ROUNDS]');
  process.exit(2);
}
const redis = await startRedis();
const { child: receiver, port } = await startChild(['bench/receiver.mjs', '0']);
const env = {
  REDIS_URL: redis.url, TARGET: `http://127.0.0.1:${port}`, CONCURRENCY: '100', WORKER_CONCURRENCY: '100', PER_ORIGIN_CONCURRENCY: '100',
  ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'info', QUEUE_PREFIX: 'bench', MODE: 'throughput', N: process.env.BENCH_N ?? '20000',
};
const runs = { this: [], other: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, dir] of [['this', '.'], ['other', other]]) {
      await redis.redis.flushall();
      const out = await runScenario(resolve(dir, 'bench/scenario-dispatcher.mjs'), env);
      runs[name].push(out.per_second);
      console.log(`${name} round ${r + 1}: ${out.per_second.toFixed(0)}/s`);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`medians: this ${med(runs.this).toFixed(0)}/s, other ${med(runs.other).toFixed(0)}/s, this/other ${(med(runs.this) / med(runs.other)).toFixed(2)}`);
} finally {
  receiver.kill('SIGTERM');
  redis.stop();
}
