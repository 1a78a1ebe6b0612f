import type { Preset } from './preset.js';

/**
 * The "advanced callback system" (seed 003): one endpoint per state (stateful callbacks),
 * renamed mandatory parameters and static custom parameters in `params`; $0 off by default.
 */
export const advanced: Preset = {
  name: 'advanced',
  network: 'Advanced callback system',
  description:
    'Stateful callbacks: one endpoint per state via `states`, mandatory parameters renamed and static parameters added via `params`; $0 callbacks off unless allow_zero_payout; ordered by `{click_id}` (ordering_key): a conversion\'s states arrive in the order they happened.',
  defaults: {
    method: 'GET',
    allow_zero_payout: false,
    // One callback per state of a conversion: its states arrive in the order they happened.
    ordering_key: '{click_id}',
    params: {
      event_id: '{event_id}',
      state: '{state}',
      payout: '{payout}',
    },
  },
  macros: ['event_id', 'type', 'state', 'payout', 'currency', 'click_id', 'offer_id', 'publisher_id', '{any event field}'],
  sampleEvent: {
    type: 'reward',
    state: 'approved',
    payout: 0.25,
    currency: 'USD',
    click_id: 'clk-1',
    offer_id: '42',
  },
};
