import type { Preset } from './preset.js';

/** MomentScience (seed 002): POST JSON (recommended) or GET with macros; 0/60/90/120/150 s. */
export const momentscience: Preset = {
  name: 'momentscience',
  network: 'MomentScience',
  description:
    'POST of {offer_id, advertiser_name, payout (string), timestamp, payload, is_loyaltyboost} or GET with macros; 5 attempts at 0/60/90/120/150 s; success on 200.',
  defaults: {
    method: 'POST',
    body: null,
    retry_schedule: [0, 60, 90, 120, 150],
    success: { status: [200] },
    allow_zero_payout: true,
    params: {
      payout: '{payout}',
      timestamp: '{timestamp}',
      offer_id: '{offer_id}',
      advertiser_name: '{advertiser_name}',
      is_loyaltyboost: '{is_loyaltyboost}',
    },
  },
  macros: ['payout', 'timestamp', 'offer_id', 'advertiser_name', 'is_loyaltyboost', '{any payload key}'],
  derive: (event) => {
    const lb = event.fields.is_loyaltyboost;
    return {
      // The network sends payout as a string with two decimals ("2.10").
      payout: event.payout === undefined ? '' : event.payout.toFixed(2),
      is_loyaltyboost: lb === true || lb === 1 || lb === '1' || lb === 'true' ? '1' : '0',
    };
  },
  sampleEvent: {
    type: 'conversion',
    offer_id: '1511',
    advertiser_name: 'MomentScience',
    payout: 2.1,
    is_loyaltyboost: false,
    payload: { user_id: '3410444', session_id: 'a90310222' },
  },
};
