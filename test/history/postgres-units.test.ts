import { describe, expect, it } from 'vitest';
import { newPostbackId } from '../../src/endpoints/postback-id.js';
import { F, encodeStatic, recordFromHash, type AttemptRecord } from '../../src/history/postback-record.js';
import { DAY_MS, dayOf, daysToKeepReady, idFloor, idTimeMs, isExpired, partitionDay, partitionName } from '../../src/history/postgres/day-partitions.js';
import { decodeCursor, encodeCursor, listQuery } from '../../src/history/postgres/list-query.js';
import { nextStreamId, planFlush } from '../../src/history/postgres/outbox-flusher.js';
import { recordFromRow, rowFromSnapshot, summaryFromRow } from '../../src/history/postgres/row-codec.js';
import { schemaNameFor } from '../../src/history/postgres/schema.js';

const T = Date.UTC(2026, 10, 21, 13, 5, 7, 123);

describe('postback ids as the partition and page key', () => {
  it('start with their creation time, and count up within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => newPostbackId(T));
    expect(ids.every((id) => idTimeMs(id) === T && /^[0-9a-z]{21}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    const later = newPostbackId(T + 1);
    expect(later > ids[999]!).toBe(true);
  });

  it('fall in the day partition whose bounds are the base36 prefixes of the day', () => {
    const id = newPostbackId(T);
    const day = dayOf(id);
    expect(day).toBe(Date.UTC(2026, 10, 21));
    expect(id >= idFloor(day) && id < idFloor(day + DAY_MS)).toBe(true);
    expect(partitionName(day)).toBe('postbacks_20261121');
    expect(partitionDay('postbacks_20261121')).toBe(day);
    expect(partitionDay('postbacks')).toBeUndefined();
    expect(daysToKeepReady(T, 3)).toEqual([-1, 0, 1, 2, 3].map((d) => day + d * DAY_MS));
  });

  it('expire a day only when all of it is older than the retention', () => {
    const day = Date.UTC(2026, 10, 1);
    expect(isExpired(day, day + DAY_MS + 10 * DAY_MS, 10 * DAY_MS)).toBe(true);
    expect(isExpired(day, day + DAY_MS + 10 * DAY_MS - 1, 10 * DAY_MS)).toBe(false);
  });

  it('map queue prefixes to schema names', () => {
    expect(schemaNameFor('postback')).toBe('postback');
    expect(schemaNameFor('{postback}')).toBe('postback');
    expect(schemaNameFor('9lives:x')).toBe('p_9lives_x');
  });
});

describe('list query', () => {
  it('turns each filter into an index prefix and the time range into an id range, newest first', () => {
    const q = listQuery('s', { fromMs: T, toMs: T + 1000, status: 'failed', endpointId: 'ep', publisherId: 'p', eventId: 'e' }, 100, 'zzz');
    expect(q.text).toBe(
      `SELECT id, endpoint_id, publisher_id, event_id, status, attempts, http_status, finished_ms, last_error, url, d FROM "s".postbacks WHERE id >= $1 AND id < $2 AND id < $3 AND status = 'f' AND endpoint_id = $4 AND publisher_id = $5 AND event_id = $6 ORDER BY id DESC LIMIT $7`,
    );
    expect(q.values).toEqual([idFloor(T), idFloor(T + 1001), 'zzz', 'ep', 'p', 'e', 101]);
    expect(listQuery('s', {}, 10, undefined).text).toBe(`SELECT id, endpoint_id, publisher_id, event_id, status, attempts, http_status, finished_ms, last_error, url, d FROM "s".postbacks ORDER BY id DESC LIMIT $1`);
  });

  it('round-trips cursors and rejects one it did not make, naming the field', () => {
    expect(decodeCursor(encodeCursor('0mwqgtm9y91d437754513'))).toBe('0mwqgtm9y91d437754513');
    expect(() => decodeCursor('garbage!')).toThrow(/cursor "garbage!"/);
  });
});

describe('row codec', () => {
  const id = newPostbackId(T);
  const attempt: AttemptRecord = { n: 1, started_at: new Date(T + 5).toISOString(), duration_ms: 12, status_code: 503, error: 'http_status', phase: null, response_excerpt: 'busy, "later"', retry_after_ms: 2000 };
  const hash: Record<string, string> = {
    [F.static]: encodeStatic({
      event_id: 'ev-1', endpoint_id: 'ep-1', publisher_id: 'pub', offer_id: 'o1', advertiser_name: 'Acme', payout: 2.5, currency: 'EUR', created_ms: T,
      request: { method: 'POST', url: 'https://p.example/pb', headers: { 'content-type': 'application/json' }, body: '{"a":1}' },
    }),
    [F.replayRequest]: JSON.stringify({ method: 'POST', url: 'https://p.example/pb', headers: { 'content-type': 'application/json', 'x-token': '{{secret:token}}' }, body: '{"a":1}' }),
    [F.status]: 'retrying',
    [F.count]: '1',
    [F.http]: '503',
    [F.finished]: '',
    [F.next]: String(T + 60_000),
    [F.lastError]: 'http_status',
    [F.batch]: 'bxyz',
    [F.attempt(1)]: JSON.stringify(attempt),
  };

  it('keeps in a row everything the live record says, and reads back the same record', () => {
    const row = rowFromSnapshot(id, hash)!;
    expect(row).toMatchObject({ id, endpoint_id: 'ep-1', publisher_id: 'pub', event_id: 'ev-1', status: 'r', attempts: 1, http_status: 503, finished_ms: null, next_ms: T + 60_000, last_error: 'http_status' });
    // What is a column (or the id) is not repeated in the JSON.
    expect(JSON.parse(row.d)).not.toHaveProperty('event_id');
    expect(JSON.parse(row.d)).not.toHaveProperty('created_ms');
    expect(recordFromRow(row)).toEqual(recordFromHash(id, hash));
    expect(summaryFromRow(row)).toMatchObject({ id, status: 'retrying', attempts: 1, last_error: 'http_status', advertiser_name: 'Acme', currency: 'EUR', created_ms: T });
  });

  it('keeps a plain GET as its URL alone, and a success attempt as five numbers and its excerpt', () => {
    const get = { ...hash, [F.static]: encodeStatic({ event_id: 'e', endpoint_id: 'ep', publisher_id: null, offer_id: null, advertiser_name: null, payout: 1, currency: null, created_ms: T, request: { method: 'GET', url: 'https://p.example/pb?c=1', headers: {}, body: null } }) };
    const ok: AttemptRecord = { n: 1, started_at: new Date(T + 4).toISOString(), duration_ms: 3, status_code: 200, error: null, phase: null, response_excerpt: 'OK' };
    const row = rowFromSnapshot(id, { ...get, [F.status]: 'delivered', [F.attempt(1)]: JSON.stringify(ok), [F.replayRequest]: '' })!;
    expect(row.url).toBe('https://p.example/pb?c=1');
    expect(row.d).toBe('{"payout":1}');
    expect(row.a).toBe('[[1,4,3,200,"OK"]]');
    expect(recordFromRow({ ...row, rr: null }).attempts).toEqual([ok]);
    expect(recordFromRow({ ...row, rr: null }).request).toEqual({ method: 'GET', url: 'https://p.example/pb?c=1', headers: {}, body: null });
  });

  it('drops the next attempt time once final', () => {
    const row = rowFromSnapshot(id, { ...hash, [F.status]: 'delivered', [F.next]: String(T) })!;
    expect(row.next_ms).toBeNull();
  });

  it('plans a flush from stream entries: the last snapshot of each postback wins, tombstones delete', () => {
    const a = newPostbackId(T);
    const b = newPostbackId(T);
    const snap = (pid: string, status: string): [string, string[]] => ['1-1', ['_', pid, ...Object.entries({ ...hash, [F.status]: status }).flat()]];
    const plan = planFlush([snap(a, 'queued'), snap(b, 'queued'), snap(a, 'delivered'), ['1-2', ['_', b, '~', '1']]]);
    expect(plan.rows.map((r) => [r.id, r.status])).toEqual([[a, 'd']]);
    expect(plan.undone).toEqual([b]);
    expect([...plan.days]).toEqual([dayOf(a)]);
    expect(nextStreamId('1700000000000-7')).toBe('1700000000000-8');
  });
});
