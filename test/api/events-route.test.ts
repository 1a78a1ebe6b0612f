import { describe, expect, it } from 'vitest';
import { useStack } from '../helpers/stack.js';

/**
 * POST /v1/events answers through a compiled response schema, which writes only the
 * properties it names: these check the whole 202 body, so a field the schema forgot fails.
 */
describe('POST /v1/events reply', () => {
  const ctx = useStack({ RETRY_SCHEDULE: '0' }, async ({ stack, receiver }) => {
    await stack.runtime.registry.upsert([
      { id: 'pr-all', publisher_id: 'pr', url: `${receiver.base}/all?e={event_id}` },
      { id: 'pr-sales', publisher_id: 'pr', events: ['sale'], url: `${receiver.base}/sales?e={event_id}` },
    ]);
  });

  it('answers 202 with every event: id, postbacks, duplicate and skipped, as SPEC shapes them', async () => {
    const events = [
      { id: 'shape-1', type: 'conversion', publisher_id: 'pr' },
      { id: 'shape-2', type: 'sale', publisher_id: 'pr' },
    ];
    const first = await ctx.stack.post('/v1/events', { events });
    expect(first.status).toBe(202);
    const [a, b] = first.json.events as { postbacks: string[] }[];
    expect(first.json).toEqual({
      events: [
        { id: 'shape-1', postbacks: [expect.any(String)], duplicate: false, skipped: [{ endpoint_id: 'pr-sales', reason: 'event_type' }] },
        { id: 'shape-2', postbacks: [expect.any(String), expect.any(String)], duplicate: false, skipped: [] },
      ],
    });
    for (const id of [...a!.postbacks, ...b!.postbacks]) await ctx.stack.waitFinal(id);

    const again = await ctx.stack.post('/v1/events', { events });
    expect(again.status).toBe(202);
    const sorted = (s: { endpoint_id: string; reason: string }[]) => [...s].sort((x, y) => `${x.endpoint_id}${x.reason}`.localeCompare(`${y.endpoint_id}${y.reason}`));
    expect(again.json.events.map((e: { skipped: { endpoint_id: string; reason: string }[] }) => ({ ...e, skipped: sorted(e.skipped) }))).toEqual([
      { id: 'shape-1', postbacks: [], duplicate: true, skipped: [{ endpoint_id: 'pr-all', reason: 'duplicate' }, { endpoint_id: 'pr-sales', reason: 'event_type' }] },
      { id: 'shape-2', postbacks: [], duplicate: true, skipped: [{ endpoint_id: 'pr-all', reason: 'duplicate' }, { endpoint_id: 'pr-sales', reason: 'duplicate' }] },
    ]);
  });

  it('answers a single event with a generated id in the same shape', async () => {
    const res = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'pr-all' });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ events: [{ id: expect.stringMatching(/^[A-Za-z0-9._~-]{1,128}$/), postbacks: [expect.any(String)], duplicate: false, skipped: [] }] });
    await ctx.stack.waitFinal(res.json.events[0].postbacks[0]);
  });

  it('still answers 400 naming each bad event and field, and accepts none of the batch', async () => {
    const res = await ctx.stack.post('/v1/events', { events: [{ id: 'bad-0', type: 'conversion', endpoint_id: 'pr-all' }, { id: 'bad 1', type: 'Sale', endpoint_id: 'pr-all' }] });
    expect(res.status).toBe(400);
    expect(res.json.details.map((d: { path: string }) => d.path)).toEqual(['events[1].id', 'events[1].type']);
    const retry = await ctx.stack.post('/v1/events', { id: 'bad-0', type: 'conversion', endpoint_id: 'pr-all' });
    expect(retry.json.events[0].duplicate).toBe(false);
    await ctx.stack.waitFinal(retry.json.events[0].postbacks[0]);
  });
});
