import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { respond } from '../helpers/receiver.js';
import { HISTORY_STORES, useStack } from '../helpers/stack.js';

/**
 * The history contract, through the API (which reads only the HistoryStore interface): the
 * same tests against Redis history and PostgreSQL history.
 */
describe.each(HISTORY_STORES)('history store contract (%s)', (_store, storeEnv) => {
  const ctx = useStack({ RETRY_SCHEDULE: '0', ...storeEnv() }, async ({ stack, receiver }) => {
    await stack.runtime.registry.upsert([
      { id: 'ep-a', publisher_id: 'p1', url: `${receiver.base}/a?e={event_id}` },
      { id: 'ep-b', publisher_id: 'p2', url: `${receiver.base}/b?e={event_id}` },
    ]);
  });

  it('pages a few thousand records newest first, none missed or repeated while new ones arrive', async () => {
    // Seed 3000 postbacks in batches of 1000 (each batch shares one millisecond).
    for (let b = 0; b < 3; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ id: `pg-${b}-${i}`, type: 'page', endpoint_id: b === 1 ? 'ep-b' : 'ep-a' }));
      const res = await ctx.stack.post('/v1/events', { events });
      expect(res.status).toBe(202);
    }
    await ctx.stack.historySynced();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let arrivals = 0;
    do {
      const q: string = `/v1/postbacks?limit=250${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await ctx.stack.get(q);
      expect(page.status).toBe(200);
      seen.push(...page.json.items.map((i: { id: string; event_id: string }) => i.event_id));
      cursor = page.json.next_cursor;
      pages++;
      // New postbacks arrive between pages: they are newer than the cursor, so never appear later.
      if (pages <= 4) {
        const more = await ctx.stack.post('/v1/events', { events: Array.from({ length: 50 }, (_, i) => ({ id: `late-${pages}-${i}`, type: 'page', endpoint_id: 'ep-a' })) });
        expect(more.status).toBe(202);
        arrivals += 50;
      }
    } while (cursor !== null);
    const seeded = seen.filter((e) => e.startsWith('pg-'));
    expect(seeded).toHaveLength(3000);
    expect(new Set(seen).size).toBe(seen.length);
    // The first page came before any arrivals; later arrivals are newer than every cursor.
    expect(seen.filter((e) => e.startsWith('late-'))).toHaveLength(0);
    expect(arrivals).toBe(200);
  });

  it('filters by date range, status, endpoint, publisher and event, newest first', async () => {
    const before = Date.now() - 1;
    const res = await ctx.stack.post('/v1/events', { events: [
      { id: 'f-1', type: 'conversion', endpoint_id: 'ep-b', payout: 1.25, currency: 'EUR', offer_id: '42' },
      { id: 'f-2', type: 'conversion', endpoint_id: 'ep-a' },
    ] });
    const ids = res.json.events.map((e: { postbacks: string[] }) => e.postbacks[0]);
    await Promise.all(ids.map((id: string) => ctx.stack.waitFinal(id)));
    await ctx.stack.historySynced();
    const after = Date.now() + 1;
    const inRange = await ctx.stack.get(`/v1/postbacks?from=${new Date(before).toISOString()}&to=${after}`);
    expect(inRange.json.items.map((i: { event_id: string }) => i.event_id)).toEqual(['f-2', 'f-1']);
    const item = inRange.json.items[1];
    expect(item).toMatchObject({ id: ids[0], event_id: 'f-1', endpoint_id: 'ep-b', publisher_id: 'p2', status: 'delivered', attempts: 1, http_status: 200, offer_id: '42', payout: 1.25, currency: 'EUR' });
    // An event without a currency lists null (the Explorer then shows the payout alone).
    expect(inRange.json.items[0].currency).toBeNull();
    expect((await ctx.stack.get(`/v1/postbacks/${ids[0]}`)).json.currency).toBe('EUR');
    expect(Date.parse(item.created_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(item.finished_at)).toBeGreaterThanOrEqual(Date.parse(item.created_at));
    const byEndpoint = await ctx.stack.get(`/v1/postbacks?from=${before}&endpoint_id=ep-b`);
    expect(byEndpoint.json.items.map((i: { event_id: string }) => i.event_id)).toEqual(['f-1']);
    const byPublisher = await ctx.stack.get(`/v1/postbacks?from=${before}&publisher_id=p1`);
    expect(byPublisher.json.items.map((i: { event_id: string }) => i.event_id)).toEqual(['f-2']);
    const byEvent = await ctx.stack.get('/v1/postbacks?event_id=f-1');
    expect(byEvent.json.items).toHaveLength(1);
    const delivered = await ctx.stack.get(`/v1/postbacks?from=${before}&status=delivered`);
    expect(delivered.json.items).toHaveLength(2);
    const failed = await ctx.stack.get(`/v1/postbacks?from=${before}&status=failed`);
    expect(failed.json.items).toHaveLength(0);
    const empty = await ctx.stack.get(`/v1/postbacks?to=${before - 60_000}&from=${before - 120_000}`);
    expect(empty.json).toEqual({ items: [], next_cursor: null });
  });

  it('rejects bad filters with 400 naming the field and value', async () => {
    const bad = await ctx.stack.get('/v1/postbacks?status=lost&limit=5000&from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.json.details.map((d: { path: string }) => d.path).sort()).toEqual(['from', 'limit', 'status']);
    expect(bad.json.details.find((d: { path: string }) => d.path === 'status').message).toContain('"lost"');
    const cursor = await ctx.stack.get('/v1/postbacks?cursor=garbage');
    expect(cursor.status).toBe(400);
  });

  it('exports CSV with SPEC columns that a real CSV parser reads back, commas, quotes and newlines included', async () => {
    const before = Date.now() - 1;
    const nasty = 'Acme, "Ads"\nLtd';
    const res = await ctx.stack.post('/v1/events', { id: 'csv-1', type: 'conversion', endpoint_id: 'ep-a', advertiser_name: nasty, offer_id: 'o,1', payout: 2 });
    await ctx.stack.waitFinal(res.json.events[0].postbacks[0]);
    await ctx.stack.historySynced();
    const csv = await ctx.stack.get(`/v1/postbacks.csv?from=${before}`);
    expect(csv.status).toBe(200);
    const rows = parse<Record<string, string>>(csv.text, { columns: true });
    expect(Object.keys(rows[0]!)).toEqual([
      'created_at', 'finished_at', 'postback_id', 'event_id', 'endpoint_id', 'publisher_id', 'offer_id',
      'advertiser_name', 'payout', 'status', 'attempts', 'http_status', 'error', 'url',
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      postback_id: res.json.events[0].postbacks[0], event_id: 'csv-1', endpoint_id: 'ep-a', publisher_id: 'p1',
      offer_id: 'o,1', advertiser_name: nasty, payout: '2', status: 'delivered', attempts: '1', http_status: '200', error: '',
      url: `${ctx.receiver.base}/a?e=csv-1`,
    });
    // The list items carry the advertiser's name too (the Explorer shows it in a column).
    const list = await ctx.stack.get('/v1/postbacks?event_id=csv-1');
    expect(list.json.items.map((i: { advertiser_name: unknown }) => i.advertiser_name)).toEqual([nasty]);
  });

  it('replays one postback (same request, linked, bypassing dedupe) and a filtered set', async () => {
    ctx.receiver.responder = (r, _i, res) => respond(r.url.includes('fail') ? 500 : 200)(res);
    await ctx.stack.runtime.registry.upsert([{ id: 'ep-f', url: `${ctx.receiver.base}/fail?e={event_id}` }]);
    const start = Date.now() - 1;
    const res = await ctx.stack.post('/v1/events', { events: [
      { id: 'r-1', type: 'conversion', endpoint_id: 'ep-f' },
      { id: 'r-2', type: 'conversion', endpoint_id: 'ep-f' },
      { id: 'r-3', type: 'conversion', endpoint_id: 'ep-a' },
    ] });
    const [f1, f2, ok] = res.json.events.map((e: { postbacks: string[] }) => e.postbacks[0]);
    await Promise.all([f1, f2, ok].map((id: string) => ctx.stack.waitFinal(id)));
    const before = ctx.receiver.requests.length;

    const one = await ctx.stack.post(`/v1/postbacks/${ok}/replay`, {});
    expect(one.status).toBe(202);
    expect(one.json.id).not.toBe(ok);
    const replayed = await ctx.stack.waitFinal(one.json.id);
    expect(replayed).toMatchObject({ status: 'delivered', replay_of: ok, event_id: 'r-3' });
    const replays = () => ctx.receiver.requests.slice(before).map((r) => r.url).filter((u) => u.includes('e=r-'));
    expect(replays()).toEqual(['/a?e=r-3']);
    const api = await ctx.stack.get(`/v1/postbacks/${one.json.id}`);
    expect(api.json.replay_of).toBe(ok);

    await ctx.stack.historySynced();
    const bulk = await ctx.stack.post('/v1/postbacks/replay', { status: 'failed', endpoint_id: 'ep-f', from: new Date(start).toISOString() });
    expect(bulk.status).toBe(202);
    expect(bulk.json).toEqual({ enqueued: 2 });
    await expect.poll(() => replays().length, { timeout: 15_000 }).toBe(3);
    expect(replays().sort()).toEqual(['/a?e=r-3', '/fail?e=r-1', '/fail?e=r-2']);
    await expect.poll(() => replays().length, { timeout: 15_000 }).toBe(3);
    await ctx.stack.historySynced();
    const list = await ctx.stack.get(`/v1/postbacks?from=${start}&endpoint_id=ep-f`);
    expect(list.json.items.filter((i: { replay_of?: string }) => i.replay_of).map((i: { replay_of: string }) => i.replay_of).sort()).toEqual([f1, f2].sort());
    expect((await ctx.stack.post('/v1/postbacks/nope/replay', {})).status).toBe(404);
  });
});
