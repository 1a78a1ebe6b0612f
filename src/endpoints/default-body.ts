import type { PostbackEvent } from '../events/event.js';

/**
 * The body of a POST endpoint whose `body` is null: MomentScience's shape (seed 002),
 * `payout` as a string with two decimals, then every other top-level event field.
 */
export function defaultBody(event: PostbackEvent): Record<string, unknown> {
  const f = event.fields;
  const lb = f.is_loyaltyboost;
  const body: Record<string, unknown> = {
    offer_id: f.offer_id === undefined ? '' : String(f.offer_id),
    advertiser_name: f.advertiser_name === undefined ? '' : String(f.advertiser_name),
    payout: event.payout === undefined ? '0.00' : event.payout.toFixed(2),
    timestamp: event.occurredAt,
    payload: event.payload,
    is_loyaltyboost: lb === true || lb === 1 || lb === '1' || lb === 'true' ? '1' : '0',
    event_id: event.id,
  };
  for (const key of Object.keys(f)) {
    if (key in body || key === 'id' || key === 'occurred_at') continue;
    Object.defineProperty(body, key, { value: f[key], enumerable: true, writable: true, configurable: true });
  }
  return body;
}
