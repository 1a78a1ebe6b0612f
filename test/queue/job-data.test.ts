import { describe, expect, it } from 'vitest';
import { JobDataError } from '../../src/queue/errors.js';
import { decodeJob, toJobData, withAttemptsBefore } from '../../src/queue/job-data.js';
import { useStack } from '../helpers/stack.js';

describe('job data', () => {
  it('decodes what toJobData wrote, with names instead of letters', () => {
    const data = toJobData(
      { method: 'POST', url: 'https://p.example/x', headers: { a: 'b' }, body: '{"k":1}' },
      { ep: 'pub7', to: 5000, sch: [0, 1], ok: { status: [200] }, ws: 1, oc: 1 },
    );
    expect(decodeJob(data)).toEqual({
      endpointId: 'pub7',
      request: { method: 'POST', url: 'https://p.example/x', headers: { a: 'b' }, body: '{"k":1}' },
      timeoutMs: 5000,
      scheduleS: [0, 1],
      success: { status: [200] },
      signing: 'endpoint',
      inlineSecrets: undefined,
      ordered: true,
      attemptsBefore: 0,
    });
    const moved = withAttemptsBefore(toJobData({ method: 'GET', url: 'u', headers: {}, body: null }, { ep: 'e', to: 1, sch: [0] }), 2);
    expect(decodeJob(moved)).toMatchObject({ request: { method: 'GET', headers: {}, body: null }, attemptsBefore: 2, ordered: false });
  });

  it.each([[{ v: 3, u: 'x', ep: 'e', to: 1 }], [{ v: 2, ep: 'e', to: 1 }], [null], ['text']])('refuses %j with JobDataError naming the version', (data) => {
    expect(() => decodeJob(data)).toThrow(JobDataError);
    expect(() => decodeJob(data)).toThrow(/job data version .* is not one this worker reads/);
  });
});

describe('a job this worker cannot read', () => {
  const ctx = useStack();

  it('is failed with error class config and logged, never sent', async () => {
    const { stack } = ctx;
    const res = await stack.post('/v1/events', { type: 'conversion', target: { url: `${ctx.receiver.base}/never` }, id: 'vnext' });
    const id: string = res.json.events[0].postbacks[0];
    // The same postback again, as a future version would write it: its record first, then its job.
    await stack.runtime.redis.copy(stack.runtime.keys.record(id), stack.runtime.keys.record(`${id}-next`));
    await stack.runtime.redis.hset(stack.runtime.keys.record(`${id}-next`), 's', 'queued');
    await stack.runtime.queue.add('deliver', { v: 99, whatever: true } as never, { jobId: `${id}-next` });
    const rec = await stack.waitFinal(`${id}-next`);
    expect(rec.status).toBe('failed');
    expect(stack.logs.lines.some((l) => l.includes('job data not readable'))).toBe(true);
    expect(ctx.receiver.requests.filter((r) => r.url.includes('never'))).toHaveLength(1);
  });
});
