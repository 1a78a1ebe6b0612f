import { describe, expect, it } from 'vitest';
import { respond } from '../helpers/receiver.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Events in through POST /v1/events, postbacks out over real HTTP, outcomes in history. */
describe('delivery pipeline', () => {
  const t = usePerTestStacks();
  let stack: Stack;

  async function fire(event: Record<string, unknown>): Promise<string> {
    const res = await stack.post('/v1/events', event);
    expect(res.status).toBe(202);
    const id = res.json.events[0].postbacks[0] as string;
    expect(id).toBeTruthy();
    return id;
  }

  it('delivers on the first attempt exactly the rendered URL and records delivered, 1 attempt, 200', async () => {
    stack = await t.start();
    await stack.runtime.registry.upsert([
      { id: 'ep1', publisher_id: '7', url: `${t.receiver.base}/pb?click_id={external_id}&payout={payout}&offer={offer_id}` },
    ]);
    const id = await fire({ id: 'conv-1', type: 'conversion', publisher_id: '7', cid: 'abc123xyz', payout: 0.5, offer_id: 42 });
    const record = await stack.waitFinal(id);
    expect(t.receiver.requests.map((r) => r.url)).toEqual(['/pb?click_id=abc123xyz&payout=0.5&offer=42']);
    expect(record.status).toBe('delivered');
    expect(record.attempts).toHaveLength(1);
    expect(record.attempts[0]).toMatchObject({ n: 1, status_code: 200, error: null, response_excerpt: 'OK' });
    const api = await stack.get(`/v1/postbacks/${id}`);
    expect(api.json).toMatchObject({ id, status: 'delivered', event_id: 'conv-1', endpoint_id: 'ep1', http_status: 200 });
    expect(api.json.request.url).toBe(`${t.receiver.base}/pb?click_id=abc123xyz&payout=0.5&offer=42`);
  });

  it('fails, fails, then succeeds on the scaled schedule, each gap at least its step and at most 250 ms late', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0,0.2,0.3,0.4,0.5' });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/r?e={event_id}` }]);
    t.receiver.responder = (_r, i, res) => respond(i < 2 ? 500 : 200)(res);
    const id = await fire({ type: 'conversion', endpoint_id: 'ep' });
    const record = await stack.waitFinal(id);
    expect(record.status).toBe('delivered');
    expect(t.receiver.requests).toHaveLength(3);
    const [a, b, c] = t.receiver.requests.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(200);
    expect(b - a).toBeLessThanOrEqual(200 + 250);
    expect(c - b).toBeGreaterThanOrEqual(300);
    expect(c - b).toBeLessThanOrEqual(300 + 250);
    expect(record.attempts.map((x) => x.status_code)).toEqual([500, 500, 200]);
    // Every attempt sends the same request.
    expect(new Set(t.receiver.requests.map((r) => r.url)).size).toBe(1);
  });

  it('marks a postback failed after five failed attempts and sends no sixth request', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0,0.05,0.05,0.05,0.05' });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/down` }]);
    t.receiver.responder = (_r, _i, res) => respond(503, 'down')(res);
    const id = await fire({ type: 'conversion', endpoint_id: 'ep' });
    const record = await stack.waitFinal(id);
    expect(record.status).toBe('failed');
    expect(record.attempts).toHaveLength(5);
    expect(record.attempts.map((a) => a.n)).toEqual([1, 2, 3, 4, 5]);
    // The job leaves every BullMQ state (history is written just before BullMQ moves it),
    // so nothing can send a sixth time.
    // Both lanes: after three failures the endpoint is degraded and its postback moves to the slow lane.
    const total = async () => {
      let n = 0;
      for (const q of Object.values(stack!.runtime.queues)) for (const c of Object.values(await q.getJobCounts('wait', 'delayed', 'active', 'failed', 'completed', 'prioritized'))) n += c;
      return n;
    };
    await expect.poll(total, { timeout: 5000 }).toBe(0);
    expect(t.receiver.requests).toHaveLength(5);
  });

  it('stores BullMQ delays of exactly 60000, 90000, 120000 and 150000 ms under the default schedule', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0,60,90,120,150' });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/x` }]);
    t.receiver.responder = (_r, _i, res) => respond(500)(res);
    const id = await fire({ type: 'conversion', endpoint_id: 'ep' });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const r = await stack.waitStatus(id, ['retrying'], 10_000);
      if (r.attempts.length !== attempt) await waitUntil(async () => (await stack.waitStatus(id, ['retrying'])).attempts.length === attempt);
      const job = await waitForDelayedJob(stack, id);
      delays.push(job.delay);
      await job.promote(); // read the delay, do not wait for it
    }
    expect(delays).toEqual([60_000, 90_000, 120_000, 150_000]);
    const final = await stack.waitFinal(id);
    expect(final.status).toBe('failed');
    expect(final.attempts).toHaveLength(5);
  });

  it('records status 0 and error class timeout for a server that never answers, and retries it', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0,0.1', REQUEST_TIMEOUT_MS: '1000' });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/hang`, timeout_ms: 1000 }]);
    t.receiver.responder = () => 'hang';
    const id = await fire({ type: 'conversion', endpoint_id: 'ep' });
    const record = await stack.waitFinal(id);
    expect(record.status).toBe('failed');
    expect(record.attempts).toHaveLength(2);
    for (const a of record.attempts) {
      expect(a.status_code).toBe(0);
      expect(a.error).toBe('timeout');
      expect(a.duration_ms).toBeGreaterThanOrEqual(900);
    }
  });

  it('treats a 302 as a failed attempt, records its Location, and never requests it', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0' });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/moved` }]);
    t.receiver.responder = (r, _i, res) =>
      r.url === '/moved' ? respond(302, '', { location: `${t.receiver.base}/elsewhere` })(res) : respond(200)(res);
    const id = await fire({ type: 'conversion', endpoint_id: 'ep' });
    const record = await stack.waitFinal(id);
    expect(record.status).toBe('failed');
    expect(record.attempts[0]).toMatchObject({ status_code: 302, error: 'redirect', location: `${t.receiver.base}/elsewhere` });
    expect(t.receiver.requests.map((r) => r.url)).toEqual(['/moved']);
  });

  it('sends the MomentScience-shaped default POST body, and a JSON template that keeps value types', async () => {
    stack = await t.start();
    await stack.runtime.registry.upsert([
      { id: 'default-body', method: 'POST', url: `${t.receiver.base}/ms` },
      {
        id: 'typed',
        method: 'POST',
        url: `${t.receiver.base}/typed`,
        body: { amount: '{payout}', user: '{payload}', label: 'offer {offer_id}', ok: '{approved}', missing: '{nope}' },
      },
    ]);
    const event = {
      id: 'ev-post',
      type: 'conversion',
      offer_id: '1511',
      advertiser_name: 'MomentScience',
      payout: 2.1,
      approved: true,
      occurred_at: '2023-09-20T15:27:40.802Z',
      payload: { user_id: '3410444', session_id: 'a90310222' },
    };
    const a = await fire({ ...event, endpoint_id: 'default-body' });
    const b = await fire({ ...event, endpoint_id: 'typed' });
    await stack.waitFinal(a);
    await stack.waitFinal(b);
    const ms = t.receiver.requests.find((r) => r.url === '/ms')!;
    expect(ms.method).toBe('POST');
    expect(ms.headers['content-type']).toBe('application/json');
    expect(JSON.parse(ms.body)).toMatchObject({
      offer_id: '1511',
      advertiser_name: 'MomentScience',
      payout: '2.10',
      timestamp: '2023-09-20T15:27:40.802Z',
      payload: { user_id: '3410444', session_id: 'a90310222' },
      is_loyaltyboost: '0',
    });
    const typed = JSON.parse(t.receiver.requests.find((r) => r.url === '/typed')!.body);
    expect(typed).toEqual({
      amount: 2.1,
      user: { user_id: '3410444', session_id: 'a90310222' },
      label: 'offer 1511',
      ok: true,
      missing: null,
    });
  });

  it('never sends a second postback for a duplicate event id, also after the first one finished', async () => {
    stack = await t.start();
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/d?e={event_id}` }]);
    const event = { id: 'dup-1', type: 'conversion', endpoint_id: 'ep' };
    const id = await fire(event);
    await stack.waitFinal(id);
    // The job is removed once delivered: dedupe must not depend on it.
    await expect.poll(async () => (await stack.runtime.queue.getJob(id)) === undefined, { timeout: 5000 }).toBe(true);
    const again = await stack.post('/v1/events', event);
    expect(again.status).toBe(202);
    expect(again.json.events[0]).toMatchObject({ id: 'dup-1', postbacks: [], duplicate: true });
    const third = await stack.post('/v1/events', { events: [event] });
    expect(third.json.events[0].duplicate).toBe(true);
    // A later, different event does go out, and arrives after anything a duplicate could have sent.
    const other = await fire({ id: 'dup-2', type: 'conversion', endpoint_id: 'ep' });
    await stack.waitFinal(other);
    expect(t.receiver.requests.map((r) => r.url)).toEqual(['/d?e=dup-1', '/d?e=dup-2']);
  });

  it('rejects an invalid event with 400 naming the field, and a batch with one bad event enqueues nothing', async () => {
    stack = await t.start();
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/v` }]);
    const bad = await stack.post('/v1/events', { type: 'Conversion!', endpoint_id: 'ep' });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([expect.objectContaining({ path: 'type' })]);
    expect(bad.json.details[0].message).toContain('"Conversion!"');

    const batch = await stack.post('/v1/events', {
      events: [
        { id: 'ok-1', type: 'conversion', endpoint_id: 'ep' },
        { id: 'bad-2', type: 'conversion', endpoint_id: 'ep', payout: 'lots' },
        { id: 'ok-3', type: 'conversion', endpoint_id: 'ep' },
      ],
    });
    expect(batch.status).toBe(400);
    expect(batch.json.details).toEqual([expect.objectContaining({ path: 'events[1].payout' })]);
    const unknown = await stack.post('/v1/events', { type: 'conversion', endpoint_id: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.details[0].path).toBe('endpoint_id');
    const nowhere = await stack.post('/v1/events', { type: 'conversion' });
    expect(nowhere.status).toBe(400);
    const counts = await stack.runtime.queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await stack.runtime.redis.zcard(stack.runtime.keys.index)).toBe(0);
    // ok-1 was not claimed by the failed batch: it can still be sent.
    const later = await stack.post('/v1/events', { id: 'ok-1', type: 'conversion', endpoint_id: 'ep' });
    expect(later.json.events[0].duplicate).toBe(false);
  });
});

/** The postback's delayed job, in whichever lane it waits (a degraded endpoint's move to the slow lane keeps its schedule). */
async function waitForDelayedJob(stack: Stack, id: string) {
  let job: Awaited<ReturnType<Stack['runtime']['queue']['getJob']>>;
  await waitUntil(async () => {
    for (const q of Object.values(stack.runtime.queues)) {
      if ((await q.getJobState(id)) !== 'delayed') continue;
      // Read after it is seen delayed: a copy read while the job was still active carries the
      // delay of before (0, once the test promoted it), and the script that delays a job sets
      // its delay and adds it to the delayed set together.
      job = await q.getJob(id);
      if (job !== undefined) return true;
    }
    return false;
  });
  return job!;
}
