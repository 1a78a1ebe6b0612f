import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { Receiver } from '../helpers/receiver.js';
import { testPrefix } from '../helpers/stack.js';

/** The package's own entry (package.json "exports"), used as a library: enqueue, deliver, read back. */
describe('library entry point', () => {
  it('enqueues through runtime.producer and delivers with startWorker, from the built package entry', async () => {
    const lib = await import('postback-dispatcher');
    const receiver = new Receiver();
    await receiver.start();
    const config = lib.loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: testPrefix(), ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'silent' });
    const runtime = await lib.Runtime.create(config, lib.createLogger('silent'));
    const worker = lib.startWorker(runtime);
    try {
      await runtime.registry.upsert([{ id: 'lib', url: `${receiver.base}/lib?c={click_id}` }]);
      const [result] = await runtime.producer.produce([{ type: 'conversion', endpoint_id: 'lib', click_id: 'x 1' }]);
      await receiver.waitFor(1);
      expect(receiver.requests[0]!.url).toBe('/lib?c=x%201');
      await expect.poll(async () => (await runtime.historyStore.getRecord(result!.postbacks[0]!))?.status).toBe('delivered');
    } finally {
      await worker.close();
      await runtime.close();
      await receiver.stop();
    }
  });
});
