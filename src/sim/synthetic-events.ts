import { randomBytes } from 'node:crypto';

/** Realistic synthetic events per preset, for `postback simulate`. Deterministic given `random`. */
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'BR', 'IN', 'ID', 'MX', 'CA', 'JP'];
const OSES = ['Android', 'iOS', 'Windows', 'macOS', 'Linux'];
const DEVICES = ['mobile', 'desktop', 'tablet'];
const STATES = ['approved', 'approved', 'approved', 'pending', 'rejected', 'reversed'];

export type Random = () => number;

const pick = <T>(list: readonly T[], random: Random): T => list[Math.floor(random() * list.length)] as T;
const money = (min: number, max: number, random: Random): number => Math.round((min + random() * (max - min)) * 100) / 100;
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function syntheticEvent(preset: string | undefined, seq: number, random: Random = Math.random): Record<string, unknown> {
  const id = `sim-${Date.now().toString(36)}-${seq}-${hex(3)}`;
  switch (preset) {
    case 'monetag': {
      const valued = random() < 0.8;
      return {
        id,
        type: random() < 0.7 ? 'impression' : 'click',
        ymid: `ymid-${hex(6)}`,
        zone_id: String(9_000_000 + Math.floor(random() * 1000)),
        sub_zone_id: String(Math.floor(random() * 10)),
        request_var: pick(['start_button', 'level_end', 'bonus'], random),
        telegram_id: String(100_000_000 + Math.floor(random() * 900_000_000)),
        payout: valued ? Math.round(random() * 50) / 10_000 + 0.0001 : 0,
      };
    }
    case 'momentscience':
      return {
        id,
        type: 'conversion',
        offer_id: String(1000 + Math.floor(random() * 900)),
        advertiser_name: pick(['MomentScience', 'Acme Offers', 'Loyalty Co'], random),
        payout: money(0.1, 5, random),
        is_loyaltyboost: random() < 0.2,
        payload: { user_id: String(3_000_000 + Math.floor(random() * 999_999)), session_id: hex(5) },
      };
    case 'maxppi':
      return {
        id,
        type: 'conversion',
        click_id: String(10_000 + seq),
        cid: `ext-${hex(5)}`,
        payout: money(0.05, 2, random),
        country: pick(COUNTRIES, random),
        ip: `203.0.113.${Math.floor(random() * 254) + 1}`,
        os: pick(OSES, random),
        device: pick(DEVICES, random),
        offer_id: String(40 + Math.floor(random() * 20)),
        smartlink_id: String(1 + Math.floor(random() * 9)),
      };
    default:
      return {
        id,
        type: 'reward',
        state: pick(STATES, random),
        payout: random() < 0.1 ? 0 : money(0.01, 3, random),
        currency: 'USD',
        click_id: `clk-${hex(5)}`,
        offer_id: String(40 + Math.floor(random() * 20)),
        country: pick(COUNTRIES, random),
      };
  }
}

/** How many chains go out together, state by state: a chain's states are close in time, as a fast network's are. */
const CHAIN_WAVE = 10;

/**
 * Synthetic chains: `chains` transactions, each one event per state in `states` order,
 * sharing a `click_id` (what the `advanced` preset orders by) and `transaction_id`. Sent in
 * waves of ten chains: every chain's first state, then every chain's second, and so on.
 */
export function syntheticChains(preset: string | undefined, chains: number, states: readonly string[], random: Random = Math.random): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const run = `${Date.now().toString(36)}${hex(2)}`;
  for (let wave = 0; wave < chains; wave += CHAIN_WAVE) {
    const members = Array.from({ length: Math.min(CHAIN_WAVE, chains - wave) }, (_, k) => {
      const base = syntheticEvent(preset, wave + k, random);
      const chain = `chain-${run}-${wave + k}`;
      return { base, chain };
    });
    for (const state of states) {
      for (const { base, chain } of members) out.push({ ...base, id: `${chain}-${state}`, state, click_id: chain, transaction_id: chain });
    }
  }
  return out;
}
