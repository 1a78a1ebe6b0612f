import { describe, expect, it } from 'vitest';
import { checkEvent, validateEvent, validateEvents } from '../../src/events/validate-event.js';
import { ValidationError } from '../../src/errors/base-error.js';

const base = { type: 'conversion', endpoint_id: 'ep' };

describe('validateEvent', () => {
  it('accepts SPEC\'s example event and keeps every scalar as a macro value', () => {
    const e = validateEvent({
      id: 'conv-000123', type: 'conversion', state: 'approved', publisher_id: '7', endpoint_id: 'pub7-main',
      occurred_at: '2026-11-21T10:00:00.000Z', payout: 0.5, currency: 'USD', click_id: '12345',
      external_id: 'abc123xyz', offer_id: '42', country: 'US', payload: { user_id: '3410444', session_id: 'a90310222' },
    });
    expect(e).toMatchObject({ id: 'conv-000123', idGenerated: false, type: 'conversion', state: 'approved', payout: 0.5, occurredMs: Date.parse('2026-11-21T10:00:00.000Z') });
    expect(e.fields.click_id).toBe('12345');
    expect(e.payload.user_id).toBe('3410444');
  });

  it('generates an id when absent and marks it so (no dedupe)', () => {
    const e = validateEvent(base);
    expect(e.idGenerated).toBe(true);
    expect(e.id).toMatch(/^[A-Za-z0-9._~-]{1,128}$/);
  });

  it.each([
    [{ ...base, id: 'has space' }, 'id', '"has space"'],
    [{ endpoint_id: 'ep' }, 'type', 'required'],
    [{ ...base, type: 'Bad' }, 'type', '"Bad"'],
    [{ ...base, payout: 'abc' }, 'payout', '"abc"'],
    [{ ...base, occurred_at: 'yesterday' }, 'occurred_at', '"yesterday"'],
    [{ ...base, nested: { a: 1 } }, 'nested', 'payload'],
    [{ ...base, payload: [1] }, 'payload', 'object'],
    [{ type: 'conversion' }, 'endpoint_id', 'routes nowhere'],
    [{ ...base, s: 'x'.repeat(5000) }, 's', '4096'],
    [{ ...base, lone: '\ud800' }, 'lone', 'Unicode'],
  ])('rejects %j naming %s and the value', (raw, path, text) => {
    const r = checkEvent(raw);
    expect(r.details?.map((d) => d.path)).toContain(path);
    expect(r.details?.find((d) => d.path === path)?.message).toContain(text);
  });

  it('maps the MaxPPI aliases cid and clickid to external_id, never over an explicit one', () => {
    expect(validateEvent({ ...base, cid: 'A' }).fields.external_id).toBe('A');
    expect(validateEvent({ ...base, clickid: 'B' }).fields.external_id).toBe('B');
    expect(validateEvent({ ...base, cid: 'A', external_id: 'C' }).fields.external_id).toBe('C');
  });

  it('does not let __proto__ in payload touch any prototype', () => {
    const raw = JSON.parse('{"type":"conversion","endpoint_id":"ep","payload":{"__proto__":{"polluted":1},"a":{"__proto__":{"x":1}}}}');
    const e = validateEvent(raw);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(e.payload)).toBeNull();
    expect(Object.keys(e.payload)).toEqual(['__proto__', 'a']);
  });

  it('gives each event of a batch its own occurred_at, given or now', () => {
    const now = Date.parse('2026-11-21T10:00:00.000Z');
    const [a, b, c, d] = validateEvents(
      [{ ...base, occurred_at: '2026-01-02T03:04:05.678Z' }, base, { ...base, occurred_at: 1700000000000 }, base],
      { now: () => now },
    );
    expect([a, b, c, d].map((e) => e?.fields.occurred_at)).toEqual([
      '2026-01-02T03:04:05.678Z', '2026-11-21T10:00:00.000Z', '2023-11-14T22:13:20.000Z', '2026-11-21T10:00:00.000Z',
    ]);
  });

  it('names each bad event of a batch by index and accepts none of it', () => {
    expect(() => validateEvents([base, { ...base, type: 'X' }, base])).toThrow(ValidationError);
    try {
      validateEvents([base, { ...base, type: 'X' }]);
    } catch (err) {
      expect((err as ValidationError).details.map((d) => d.path)).toEqual(['events[1].type']);
    }
  });
});
