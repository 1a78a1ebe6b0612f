import { advanced } from './advanced.js';
import { maxppi } from './maxppi.js';
import { momentscience } from './momentscience.js';
import { monetag } from './monetag.js';
import type { Preset } from './preset.js';

export type { Preset } from './preset.js';

export const PRESETS: ReadonlyMap<string, Preset> = new Map(
  [monetag, momentscience, maxppi, advanced].map((p) => [p.name, p]),
);

export const GENERIC_SAMPLE_EVENT: Readonly<Record<string, unknown>> = {
  type: 'conversion',
  state: 'approved',
  payout: 1.5,
  currency: 'USD',
  click_id: 'sample-click',
  offer_id: '42',
  payload: { user_id: 'sample-user' },
};
