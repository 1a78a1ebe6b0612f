// (b) The obvious alternative: a BullMQ queue with default job retention and a worker that
// calls fetch, attempts 5 with exponential backoff. Producer and worker in one process.
import { Queue, Worker } from 'bullmq';
import { createRedis } from '../dist/src/redis/connection.js';

const { REDIS_URL, TARGET, N, CONCURRENCY } = process.env;
const n = Number(N);
// The same connection options as the dispatcher's workers (maxRetriesPerRequest null, as BullMQ wants).
const topology = { kind: 'single', url: REDIS_URL };
const connection = createRedis(topology, 'worker', 'bench-alt');
const queue = new Queue('alt', { connection, prefix: 'alt' });
const rssBefore = process.memoryUsage().rss;
const worker = new Worker(
  'alt',
  async (job) => {
    const res = await fetch(job.data.url);
    await res.text();
    if (!res.ok) throw new Error(`status ${res.status}`);
  },
  { connection: createRedis(topology, 'worker', 'bench-alt-worker'), prefix: 'alt', concurrency: Number(CONCURRENCY) },
);
const t0 = performance.now();
for (let i = 0; i < n; i += 1000) {
  const jobs = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
    name: 'pb',
    data: { url: `${TARGET}/alt?e=${i + j}` },
    opts: { attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
  }));
  await queue.addBulk(jobs);
}
// Done when every job is completed (retained, as BullMQ does by default).
while ((await queue.getCompletedCount()) < n) await new Promise((r) => setTimeout(r, 10));
const seconds = (performance.now() - t0) / 1000;
const rssAfter = process.memoryUsage().rss;
await worker.close();
await queue.close();
connection.disconnect();
process.stdout.write(`${JSON.stringify({ deliveries: n, seconds, per_second: n / seconds, rss_before: rssBefore, rss_after: rssAfter })}\n`);
process.exit(0);
