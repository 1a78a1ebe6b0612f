import { describe, expect, it } from 'vitest';
import { compileEndpoint } from '../../src/endpoints/compile-endpoint.js';
import { EndpointConfigError } from '../../src/endpoints/errors.js';
import { validateEvent } from '../../src/events/validate-event.js';
import { RedisKeys } from '../../src/redis/keys.js';

const DEFAULTS = { requestTimeoutMs: 5000, retryScheduleS: [0] };
const compile = (fields: Record<string, unknown>) => compileEndpoint({ id: 'ep', url: 'https://pub.example/cb?c={click_id}', ...fields }, DEFAULTS);
const event = (fields: Record<string, unknown>) => validateEvent({ type: 'conversion', endpoint_id: 'ep', ...fields });

describe('ordering_key: compiled once per endpoint, rendered per postback', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string | undefined]>([
    ['a field', { ordering_key: '{click_id}' }, { click_id: 'c-1' }, 'c-1'],
    ['fields and text, formatters applied', { ordering_key: 'tx:{offer_id}/{click_id|upper}' }, { click_id: 'ab', offer_id: '42' }, 'tx:42/AB'],
    ['a payload key', { ordering_key: '{payload.txn}' }, { payload: { txn: 'T9' } }, 'T9'],
    ['the {} dialect whatever macro_syntax says', { ordering_key: '{click_id}', macro_syntax: '[m]', url: 'https://pub.example/cb?c=[click_id]' }, { click_id: 'c-2' }, 'c-2'],
    ['a key that renders empty: not ordered', { ordering_key: '{click_id}' }, {}, undefined],
    ['no ordering_key: not ordered', {}, { click_id: 'c-1' }, undefined],
    ['ordering_key null turns a preset\'s default off', { preset: 'advanced', ordering_key: null }, { click_id: 'c-1' }, undefined],
    ['the advanced preset orders by click_id', { preset: 'advanced' }, { click_id: 'c-3' }, 'c-3'],
  ])('%s', (_name, fields, ev, expected) => {
    const endpoint = compile(fields);
    expect(endpoint.ordered).toBe(fields.ordering_key != null || (fields.preset === 'advanced' && fields.ordering_key !== null));
    expect(endpoint.orderingKeyOf(event(ev), 'pb1')).toBe(expected);
  });

  it.each<[string, string, string]>([
    ['a static key', 'all', 'ordering_key must name at least one macro, e.g. "{click_id}", got "all"'],
    ['a secret', '{click_id}-{security_token}', 'ordering_key must not use {security_token}: it is a secret'],
    ['a per-postback value', '{postback_id}', 'ordering_key must not use {postback_id}'],
    ['random', '{rand}', 'ordering_key must not use {rand}'],
    ['a syntax error', '{click_id', 'ordering_key'],
  ])('refuses %s, naming the field and value', (_name, key, message) => {
    expect(() => compile({ ordering_key: key })).toThrow(EndpointConfigError);
    expect(() => compile({ ordering_key: key })).toThrow(message);
  });

  it('refuses a key that is not a string of 1-512 characters', () => {
    expect(() => compile({ ordering_key: '' })).toThrow(/ordering_key/);
    expect(() => compile({ ordering_key: 5 })).toThrow(/ordering_key/);
    expect(() => compile({ ordering_key: `{click_id}${'x'.repeat(600)}` })).toThrow(/ordering_key/);
  });
});

describe('RedisKeys.chain', () => {
  const keys = new RedisKeys('{pb}');
  it('names a chain per endpoint and key, under the prefix (one Cluster slot with the records)', () => {
    expect(keys.chain('ep', 'c-1')).toBe('{pb}:oc:2:ep:c-1');
  });
  it('keeps endpoint ids with ":" apart from keys with ":"', () => {
    expect(keys.chain('a:b', 'c')).not.toBe(keys.chain('a', 'b:c'));
  });
  it('hashes a long key', () => {
    const name = keys.chain('ep', 'k'.repeat(500));
    expect(name).toMatch(/^\{pb\}:oc:2:ep:[0-9a-f]{64}$/);
    expect(keys.chain('ep', 'k'.repeat(501))).not.toBe(name);
  });
});
