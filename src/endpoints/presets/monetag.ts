import type { Preset } from './preset.js';

/** Monetag rewarded ads (seeds 000, 001): GET, impression/click, valued or not_valued ($0), 200 only. */
export const monetag: Preset = {
  name: 'monetag',
  network: 'Monetag',
  description: 'GET postbacks for rewarded impressions and clicks; success only on 200 OK.',
  defaults: {
    method: 'GET',
    events: ['impression', 'click'],
    success: { status: [200] },
    // not_valued events are $0 by definition and publishers expect them.
    allow_zero_payout: true,
    params: {
      ymid: '{ymid}',
      zone_id: '{zone_id}',
      sub_zone_id: '{sub_zone_id}',
      request_var: '{request_var}',
      telegram_id: '{telegram_id}',
      event_type: '{event_type}',
      reward_event_type: '{reward_event_type}',
      estimated_price: '{estimated_price}',
    },
  },
  macros: ['ymid', 'zone_id', 'sub_zone_id', 'request_var', 'telegram_id', 'event_type', 'reward_event_type', 'estimated_price'],
  derive: (event) => {
    const f = event.fields;
    const price = f.estimated_price ?? event.payout ?? 0;
    return {
      event_type: f.event_type ?? event.type,
      // not_valued is Monetag's $0 event: the price decides unless the producer says.
      reward_event_type: f.reward_event_type ?? (Number(price) > 0 ? 'valued' : 'not_valued'),
      estimated_price: price,
    };
  },
  sampleEvent: {
    type: 'impression',
    ymid: 'user123',
    zone_id: '9876543',
    sub_zone_id: '1',
    request_var: 'start_button',
    telegram_id: '123324',
    payout: 0.0023,
  },
};
