// (a) The limit: undici request at the same concurrency straight at the receiver, no queue.
import { Agent, request } from 'undici';

const { TARGET, N, CONCURRENCY } = process.env;
const n = Number(N);
const agent = new Agent({ connections: Number(CONCURRENCY), keepAliveTimeout: 30_000 });
let next = 0;
const t0 = performance.now();
async function lane() {
  while (next < n) {
    const i = next++;
    const res = await request(`${TARGET}/limit?e=${i}`, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
    await res.body.dump();
  }
}
await Promise.all(Array.from({ length: Number(CONCURRENCY) }, lane));
const seconds = (performance.now() - t0) / 1000;
await agent.close();
process.stdout.write(`${JSON.stringify({ deliveries: n, seconds, per_second: n / seconds })}\n`);
process.exit(0);
