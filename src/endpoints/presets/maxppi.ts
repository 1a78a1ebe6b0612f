import type { Preset } from './preset.js';

/** MaxPPI (seed 004): GET with eleven macros; external id arrives as cid/clickid; 10 s timeout. */
export const maxppi: Preset = {
  name: 'maxppi',
  network: 'MaxPPI',
  description: 'GET postbacks with click, payout, geo and device macros plus a security token; 10 s timeout.',
  defaults: {
    method: 'GET',
    timeout_ms: 10000,
    allow_zero_payout: true,
    params: {
      click_id: '{external_id}',
      payout: '{payout}',
      country: '{country}',
    },
  },
  macros: [
    'click_id', 'external_id', 'publisher_id', 'payout', 'country', 'ip', 'os', 'device', 'offer_id', 'smartlink_id',
    'security_token',
  ],
  sampleEvent: {
    type: 'conversion',
    click_id: '12345',
    cid: 'YOUR_CLICK_ID_789',
    publisher_id: '7',
    payout: 0.5,
    country: 'US',
    ip: '203.0.113.7',
    os: 'Windows',
    device: 'desktop',
    offer_id: '42',
    smartlink_id: '7',
  },
};
