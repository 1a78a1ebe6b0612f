import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/worker/worker-service.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('worker crash', () => {
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    // Producer and API only; the first worker is a separate process we can SIGKILL.
    stack = await startStack({ WORKER_LOCK_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000' }, { worker: false });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  it('delivers through another worker after the first is killed with SIGKILL mid-attempt (at-least-once)', async () => {
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${receiver.base}/crash?e={event_id}` }]);
    // The first request never gets an answer: the worker is busy with it when it dies.
    receiver.responder = (_r, i, res) => (i === 0 ? 'hang' : respond(200, 'OK')(res));
    const child = spawn(process.execPath, ['dist/workers/postback-worker.js'], {
      env: {
        ...process.env,
        REDIS_URL: stack.config.redisUrl,
        QUEUE_PREFIX: stack.config.queuePrefix,
        ALLOW_PRIVATE_TARGETS: 'true',
        REQUEST_TIMEOUT_MS: '2000',
        WORKER_LOCK_MS: '3000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    try {
      const res = await stack.post('/v1/events', { id: 'crash-1', type: 'conversion', endpoint_id: 'ep' });
      const id = res.json.events[0].postbacks[0] as string;
      await receiver.waitFor(1);
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect((await stack.runtime.queue.getJob(id))?.id).toBe(id);

      const second = startWorker(stack.runtime);
      try {
        const record = await stack.waitFinal(id, 20_000);
        expect(record.status).toBe('delivered');
        expect(receiver.requests.map((r) => r.url)).toEqual(['/crash?e=crash-1', '/crash?e=crash-1']);
      } finally {
        await second.close();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
