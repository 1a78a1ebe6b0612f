import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newPostbackId } from '../../src/endpoints/postback-id.js';
import { F, encodeStatic } from '../../src/history/postback-record.js';
import { DAY_MS, partitionName } from '../../src/history/postgres/day-partitions.js';
import { migrate } from '../../src/history/postgres/migrate.js';
import { PostgresHistoryStore } from '../../src/history/postgres/postgres-history-store.js';
import { schemaNameFor } from '../../src/history/postgres/schema.js';
import { sweepQueued } from '../../src/history/sweep-queued.js';
import { account, sendLoad, spawnWorker } from '../helpers/load.js';
import { PostgresProcess } from '../helpers/postgres-process.js';
import { respond } from '../helpers/receiver.js';
import { postgresHistoryEnv, testPrefix, usePerTestStacks, type Stack } from '../helpers/stack.js';

const TOKEN = 'tok-9f8e7d6c5b4a';

function pgStore(stack: Stack): PostgresHistoryStore {
  const store = stack.runtime.historyStore;
  if (!(store instanceof PostgresHistoryStore)) throw new Error('stack without PostgreSQL history');
  return store;
}

/** Partition names of the stack's schema. */
async function partitions(store: PostgresHistoryStore): Promise<string[]> {
  const { rows } = await store.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND p.relname = 'postbacks' ORDER BY 1`,
    [store.schema],
  );
  return rows.map((r) => r.name);
}

describe('PostgreSQL history', () => {
  const stacks = usePerTestStacks();

  it('reads a final postback from PostgreSQL, once its live record is gone, as it read from Redis (secrets masked, replay restores them)', async () => {
    const stack = await stacks.start({ ...postgresHistoryEnv(), RETRY_SCHEDULE: '0,0.1' });
    await stack.runtime.registry.upsert([{ id: 'sec', url: `${stacks.receiver.base}/s?t={security_token}&e={event_id}`, security_token: TOKEN }]);
    stacks.receiver.responder = (_r, i, res) => (i === 0 ? respond(503, `busy ${TOKEN}`, { 'retry-after': '0' })(res) : respond(200, 'ok')(res));
    const res = await stack.post('/v1/events', { id: 'pg-1', type: 'conversion', endpoint_id: 'sec', payout: 3.5 });
    const id = res.json.events[0].postbacks[0] as string;
    await stack.waitFinal(id);
    const fromRedis = await stack.get(`/v1/postbacks/${id}`);
    expect(fromRedis.json).toMatchObject({ status: 'delivered', attempts: [{ n: 1, status_code: 503, response_excerpt: 'busy ***' }, { n: 2, status_code: 200 }] });
    await stack.historySynced();
    // What the final grace would do a few seconds later: the live record leaves Redis.
    expect(await stack.runtime.redis.pttl(stack.runtime.keys.record(id))).toBeLessThanOrEqual(5000);
    await stack.runtime.redis.del(stack.runtime.keys.record(id));
    const fromPostgres = await stack.get(`/v1/postbacks/${id}`);
    expect(fromPostgres.status).toBe(200);
    expect(fromPostgres.json).toEqual(fromRedis.json);
    expect(fromPostgres.text).not.toContain(TOKEN);
    const { rows } = await pgStore(stack).pool.query(`SELECT * FROM "${pgStore(stack).schema}".postbacks`);
    expect(JSON.stringify(rows)).not.toContain(TOKEN);

    const before = stacks.receiver.requests.length;
    const replay = await stack.post(`/v1/postbacks/${id}/replay`, {});
    expect(replay.status).toBe(202);
    await stack.waitFinal(replay.json.id);
    expect(stacks.receiver.requests.slice(before).map((r) => r.url)).toEqual([`/s?t=${TOKEN}&e=pg-1`]);
  });

  it('keeps in Redis only the queue, dedupe keys and records not yet final (a final one for its few seconds of grace)', async () => {
    const stack = await stacks.start({ ...postgresHistoryEnv(), RETRY_SCHEDULE: '0', BATCH_SIZE: '50', WORKER_LOCK_MS: '20000' });
    // One attempt each: a generous timeout (the lock outlasts it), so that a machine busy with other test files (the
    // receiver shares this process's event loop) does not fail an attempt this test is not about.
    await stack.runtime.registry.upsert([{ id: 'fp', url: `${stacks.receiver.base}/f?e={event_id}`, timeout_ms: 15_000 }]);
    const ids = await sendLoad(stack, 'fp', 'fp', 500);
    const result = await account(stack, ids, stacks.receiver, 'fp');
    expect(result.notDelivered).toEqual([]);
    expect(result.delivered).toBe(500);
    await stack.historySynced();
    const { redis, keys } = stack.runtime;
    expect(await redis.zcard(keys.index)).toBe(0);
    expect(await redis.xlen(keys.outbox)).toBe(0);
    const pipe = redis.pipeline();
    for (const id of ids) pipe.pttl(keys.record(id));
    const ttls = ((await pipe.exec()) ?? []).map(([, v]) => Number(v));
    // Gone (-2) or going within the grace.
    expect(ttls.every((t) => t === -2 || (t > 0 && t <= 5000))).toBe(true);
    const page = await stack.get('/v1/postbacks?endpoint_id=fp&status=delivered&limit=1000');
    expect(page.json.items).toHaveLength(500);
  });

  it('shows a postback still queued (a delayed one) in PostgreSQL lists once the sweep has snapshotted it, then its final row', async () => {
    const stack = await stacks.start({ ...postgresHistoryEnv(), RETRY_SCHEDULE: '0' });
    await stack.runtime.registry.upsert([{ id: 'dl', url: `${stacks.receiver.base}/dl?e={event_id}`, delay_s: 1 }]);
    const [id] = await sendLoad(stack, 'dl', 'dl', 1);
    // Not snapshotted at creation: most postbacks are final within milliseconds and go once.
    expect(await stack.runtime.redis.xlen(stack.runtime.keys.outbox)).toBe(0);
    // The flusher's sweep as it runs QUEUED_SNAPSHOT_AFTER_MS later (the time passed in, not waited for).
    expect(await sweepQueued(stack.runtime.history, Date.now() + 1)).toBe(1);
    await stack.historySynced();
    expect((await stack.get('/v1/postbacks?endpoint_id=dl')).json.items).toMatchObject([{ id, status: 'queued', attempts: 0 }]);
    await stack.waitFinal(id!);
    await stack.historySynced();
    expect((await stack.get('/v1/postbacks?endpoint_id=dl')).json.items).toMatchObject([{ id, status: 'delivered', attempts: 1 }]);
  });

  it('migrates once when several processes start at once (advisory lock), and again as a no-op', async () => {
    const schema = schemaNameFor(testPrefix());
    const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: inject('postgresUrl'), max: 1 }));
    try {
      await Promise.all(pools.map((p) => migrate(p, schema)));
      await migrate(pools[0]!, schema);
      const { rows } = await pools[0]!.query(`SELECT count(*)::int AS n FROM "${schema}".schema_version`);
      expect(rows[0].n).toBe(1);
      const idx = await pools[0]!.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`, [schema]);
      expect(idx.rows.map((r: { indexname: string }) => r.indexname)).toEqual(['postbacks_endpoint', 'postbacks_event', 'postbacks_pkey', 'postbacks_publisher', 'postbacks_unsettled', 'postbacks_unsettled_any', 'schema_version_pkey']);
    } finally {
      await pools[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('drops a day partition past the retention, and nothing else; compacts the settled ones once', async () => {
    const stack = await stacks.start({ ...postgresHistoryEnv(), RETRY_SCHEDULE: '0', HISTORY_RETENTION_DAYS: '30' });
    await stack.runtime.registry.upsert([{ id: 'rt', url: `${stacks.receiver.base}/r?e={event_id}` }]);
    const [today] = await sendLoad(stack, 'rt', 'rt', 1);
    await stack.waitFinal(today!);
    // Two old postbacks, 40 and 29 days back, as snapshots through the outbox like any other.
    const now = Date.now();
    const old = [newPostbackId(now - 40 * DAY_MS), newPostbackId(now - 29 * DAY_MS)];
    for (const id of old) {
      const d = encodeStatic({ event_id: `old-${id}`, endpoint_id: 'rt', publisher_id: null, offer_id: null, advertiser_name: null, payout: null, currency: null, created_ms: now, request: { method: 'GET', url: 'http://127.0.0.1/x', headers: {}, body: null } });
      await stack.runtime.redis.xadd(stack.runtime.keys.outbox, '*', '_', id, F.static, d, F.status, 'delivered', F.count, '0');
    }
    await stack.historySynced();
    const store = pgStore(stack);
    const day = (ms: number): string => partitionName(ms - (ms % DAY_MS));
    const before = await partitions(store);
    expect(before).toEqual(expect.arrayContaining([day(now - 40 * DAY_MS), day(now - 29 * DAY_MS), day(now), day(now + 3 * DAY_MS)]));
    const dropped = await store.partitions.maintain(now, 30 * DAY_MS);
    expect(dropped).toEqual([day(now - 40 * DAY_MS)]);
    expect(await partitions(store)).toEqual(before.filter((p) => p !== day(now - 40 * DAY_MS)));
    const { rows } = await store.pool.query<{ id: string }>(`SELECT id FROM "${store.schema}".postbacks ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([old[1], today].sort());
    // Settled days (no more writes) had their indexes rebuilt, once; today's not.
    const notes = await store.pool.query<{ name: string; note: string | null }>(
      `SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS note FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2)`,
      [store.schema, [day(now - 29 * DAY_MS), day(now)]],
    );
    expect(Object.fromEntries(notes.rows.map((r) => [r.name, r.note]))).toEqual({ [day(now - 29 * DAY_MS)]: 'compacted', [day(now)]: null });
    const byEvent = await stack.get(`/v1/postbacks?event_id=old-${old[1]}`);
    expect(byEvent.json.items.map((i: { id: string }) => i.id)).toEqual([old[1]]);
  });
});

describe('PostgreSQL history when PostgreSQL fails', () => {
  const stacks = usePerTestStacks();
  const server = new PostgresProcess();
  beforeAll(() => server.start(), 30_000);
  afterAll(() => server.stop());

  it('keeps delivering while PostgreSQL is down, answers 503 for history reads, and writes everything once it is back', async () => {
    const stack = await stacks.start({ HISTORY_URL: server.url, RETRY_SCHEDULE: '0', BATCH_SIZE: '50' });
    await stack.runtime.registry.upsert([{ id: 'dn', url: `${stacks.receiver.base}/d?e={event_id}` }]);
    const first = await sendLoad(stack, 'dn', 'dn', 200);
    await server.kill();
    const second = await sendLoad(stack, 'dn', 'dn2', 300);
    const ids = [...first, ...second];
    // Deliveries never wait for PostgreSQL.
    await expect.poll(() => stacks.receiver.requests.length, { timeout: 30_000 }).toBe(500);
    const list = await stack.get('/v1/postbacks?endpoint_id=dn');
    expect(list.status).toBe(503);
    expect(list.json.error).toMatch(/history store unavailable: PostgreSQL/);
    expect((await stack.get('/v1/postbacks.csv')).status).toBe(503);
    expect(await stack.runtime.redis.xlen(stack.runtime.keys.outbox)).toBeGreaterThan(0);
    expect((await stack.get('/metrics')).text).toMatch(/^postback_history_outbox [1-9]/m);

    await server.restart();
    await stack.historySynced(30_000);
    const page = await stack.get('/v1/postbacks?endpoint_id=dn&limit=1000');
    expect(page.status).toBe(200);
    expect(page.json.items).toHaveLength(500);
    expect(new Set(page.json.items.map((i: { id: string }) => i.id))).toEqual(new Set(ids));
    expect(page.json.items.every((i: { status: string; attempts: number }) => i.status === 'delivered' && i.attempts === 1)).toBe(true);
  });

  it('refuses new events with 503 once HISTORY_OUTBOX_MAX writes wait, having written nothing of them, and takes them again when PostgreSQL is back', async () => {
    const stack = await stacks.start({ HISTORY_URL: server.url, RETRY_SCHEDULE: '0', HISTORY_OUTBOX_MAX: '1000' });
    await stack.runtime.registry.upsert([{ id: 'ob', url: `${stacks.receiver.base}/o?e={event_id}` }]);
    await server.kill();
    // 400 postbacks delivered: 400 final snapshots waiting.
    const accepted = await sendLoad(stack, 'ob', 'ob', 400);
    await expect.poll(() => stack.runtime.redis.xlen(stack.runtime.keys.outbox), { timeout: 15_000 }).toBeGreaterThanOrEqual(400);
    let round = 0;
    const more = async (): Promise<number> => {
      round++;
      const r = await stack.post('/v1/events', { events: Array.from({ length: 300 }, (_, i) => ({ id: `late-${round}-${i}`, type: 'conversion', endpoint_id: 'ob' })) });
      return r.status;
    };
    await expect.poll(more, { timeout: 15_000 }).toBe(503);
    const refused = await stack.post('/v1/events', { id: 'late-x', type: 'conversion', endpoint_id: 'ob' });
    expect(refused.status).toBe(503);
    expect(refused.json.error).toMatch(/HISTORY_OUTBOX_MAX/);
    // Nothing half-done: no dedupe claim, record or job for a refused event.
    expect(await stack.runtime.redis.exists(stack.runtime.keys.dedupe('late-x', 'ob'))).toBe(0);
    await server.restart();
    await stack.historySynced(30_000);
    const again = await stack.post('/v1/events', { id: 'late-x', type: 'conversion', endpoint_id: 'ob' });
    expect(again.status).toBe(202);
    expect(again.json.events[0].postbacks).toHaveLength(1);
    expect((await account(stack, accepted, stacks.receiver, 'ob')).delivered).toBe(400);
  });

  it('loses no record when the process writing the outbox is SIGKILLed: another takes over and writes it all', { timeout: 90_000 }, async () => {
    const stack = await stacks.start({ HISTORY_URL: server.url, RETRY_SCHEDULE: '0', BATCH_SIZE: '50' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'kf', url: `${stacks.receiver.base}/k?e={event_id}` }]);
    const env = {
      REDIS_URL: stack.config.redisUrl!, QUEUE_PREFIX: stack.config.queuePrefix, HISTORY_URL: server.url, RETRY_SCHEDULE: '0', BATCH_SIZE: '50',
      REQUEST_TIMEOUT_MS: '2000', WORKER_LOCK_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000',
    };
    const a = spawnWorker(env);
    const ids = await sendLoad(stack, 'kf', 'kf', 400);
    await expect.poll(() => stacks.receiver.requests.length, { timeout: 30_000 }).toBeGreaterThan(100);
    // The only worker holds the flusher's lease when it dies: the next one waits it out.
    expect(await stack.runtime.redis.get(stack.runtime.keys.outboxLeader)).not.toBeNull();
    a.kill('SIGKILL');
    const more = await sendLoad(stack, 'kf', 'kf2', 200);
    const b = spawnWorker(env);
    try {
      await stack.historySynced(30_000);
      for (const id of [...ids, ...more]) await stack.waitFinal(id, 30_000);
      await stack.historySynced(30_000);
      const page = await stack.get('/v1/postbacks?endpoint_id=kf&limit=1000');
      expect(page.json.items).toHaveLength(600);
      expect(page.json.items.every((i: { status: string }) => i.status === 'delivered')).toBe(true);
    } finally {
      b.kill('SIGTERM');
      await new Promise((r) => b.once('exit', r));
    }
  });
});
