import { describe, expect, it } from 'vitest';
import { decodeStatic, encodeStatic, type RecordStatic } from '../../src/history/postback-record.js';

const base: RecordStatic = {
  event_id: 'e1',
  endpoint_id: 'ep',
  publisher_id: null,
  offer_id: null,
  advertiser_name: null,
  payout: null,
  currency: null,
  created_ms: 1_795_000_000_000,
  request: { method: 'GET', url: 'https://a.example/pb?e=e1', headers: {}, body: null },
};

describe("a record's static part as stored", () => {
  it('leaves out what is implied and reads back the same', () => {
    const json = encodeStatic(base);
    expect(json).not.toMatch(/null|"GET"|"headers"|"body"/);
    expect(decodeStatic(json)).toEqual(base);
  });

  it('keeps what is not the default: POST, headers, body, values, replay link', () => {
    const full: RecordStatic = {
      ...base,
      publisher_id: '7',
      offer_id: '42',
      advertiser_name: 'Acme',
      payout: 0,
      currency: 'EUR',
      replay_of: 'old',
      delay_s: 5,
      request: { method: 'POST', url: 'https://a.example/pb', headers: { 'content-type': 'application/json' }, body: '{"a":1}' },
    };
    expect(decodeStatic(encodeStatic(full))).toEqual(full);
  });

  it('reads the full form records written before it', () => {
    expect(decodeStatic(JSON.stringify(base))).toEqual(base);
  });
});
