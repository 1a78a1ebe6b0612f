import { describe, expect, it } from 'vitest';
import { compileEndpoint } from '../../src/endpoints/compile-endpoint.js';
import { PostbackValues } from '../../src/endpoints/macro-values.js';
import { validateEvent } from '../../src/events/validate-event.js';
import { parseTemplate, type MacroRef } from '../../src/templates/parse.js';

const DEFAULTS = { requestTimeoutMs: 5000, retryScheduleS: [0] };

function ref(source: string): MacroRef {
  const [segment] = parseTemplate(source, '{}');
  if (segment === undefined || typeof segment === 'string') throw new Error(`${source} is not one macro`);
  return segment;
}

describe('PostbackValues: {publisher_id} is the event\'s, else the endpoint\'s (SPEC, Macros)', () => {
  it.each<[string, Record<string, unknown>, string | undefined, unknown]>([
    ['the event\'s own wins', { publisher_id: '7' }, 'p9', '7'],
    ['routed by endpoint_id, no publisher in the event: the endpoint\'s', {}, 'p9', 'p9'],
    ['the endpoint\'s wins over a payload key of that name', { payload: { publisher_id: 'from-payload' } }, 'p9', 'p9'],
    ['no endpoint publisher: a payload key still answers a bare macro', { payload: { publisher_id: 'from-payload' } }, undefined, 'from-payload'],
    ['neither: missing (renders empty)', {}, undefined, undefined],
  ])('%s', (_name, extra, endpointPublisher, expected) => {
    const event = validateEvent({ type: 'conversion', endpoint_id: 'ep', ...extra });
    const values = new PostbackValues(event, 'pb1', undefined, undefined, endpointPublisher);
    expect(values.resolve(ref('{publisher_id}'))).toBe(expected);
  });

  it('changes nothing else: {payload.publisher_id} is still the payload\'s', () => {
    const event = validateEvent({ type: 'conversion', endpoint_id: 'ep', payload: { publisher_id: 'from-payload' } });
    const values = new PostbackValues(event, 'pb1', undefined, undefined, 'p9');
    expect(values.resolve(ref('{payload.publisher_id}'))).toBe('from-payload');
    expect(values.resolve(ref('{publisher}'))).toBeUndefined();
  });
});

describe('{publisher_id} through a real render (MaxPPI preset)', () => {
  const endpoint = compileEndpoint(
    {
      id: 'maxppi-7',
      publisher_id: '7',
      preset: 'maxppi',
      security_token: 'secret_token_123',
      url: 'https://publisher.example/postback?click_id={external_id}&pub={publisher_id}&payout={payout}&token={security_token}',
    },
    DEFAULTS,
  );

  it('an event routed by endpoint_id, without publisher_id: the endpoint\'s publisher', () => {
    const event = validateEvent({ type: 'conversion', endpoint_id: 'maxppi-7', cid: 'c-1', payout: 0.5 });
    const { url } = endpoint.render(event, 'pb1');
    expect(new URL(url).searchParams.get('pub')).toBe('7');
    expect(url).toBe('https://publisher.example/postback?click_id=c-1&pub=7&payout=0.5&token=secret_token_123');
  });

  it('an event with its own publisher_id: the event\'s', () => {
    const event = validateEvent({ type: 'conversion', endpoint_id: 'maxppi-7', publisher_id: '8', cid: 'c-1', payout: 0.5 });
    expect(new URL(endpoint.render(event, 'pb1').url).searchParams.get('pub')).toBe('8');
  });

  it('an endpoint without a publisher, and an event without one: empty, as any missing value', () => {
    const anonymous = compileEndpoint({ id: 'anon', preset: 'maxppi', url: 'https://publisher.example/pb?pub={publisher_id}&c={external_id}' }, DEFAULTS);
    const event = validateEvent({ type: 'conversion', endpoint_id: 'anon', cid: 'c-1' });
    expect(anonymous.render(event, 'pb1').url).toBe('https://publisher.example/pb?pub=&c=c-1');
  });
});
