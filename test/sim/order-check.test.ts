import { describe, expect, it } from 'vitest';
import { OrderCheck } from '../../src/sim/order-check.js';

const STATES = ['pending', 'approved', 'reversed'];

describe('OrderCheck (postback sink --check-order)', () => {
  it.each<[string, [string, string][], number]>([
    ['in order', [['a', 'pending'], ['a', 'approved'], ['a', 'reversed']], 0],
    ['a skipped state is not out of order', [['a', 'pending'], ['a', 'reversed']], 0],
    ['a repeat (at-least-once) is not out of order', [['a', 'approved'], ['a', 'approved'], ['a', 'reversed'], ['a', 'reversed']], 0],
    ['an earlier state after a later one is', [['a', 'approved'], ['a', 'reversed'], ['a', 'approved']], 1],
    ['each transaction on its own', [['a', 'reversed'], ['b', 'pending'], ['b', 'approved']], 0],
    ['states not in the list are not checked', [['a', 'reversed'], ['a', 'chargeback'], ['a', 'pending']], 1],
  ])('%s', (_name, arrivals, outOfOrder) => {
    const check = new OrderCheck({ keyParam: 'click_id', stateParam: 'state', states: STATES });
    for (const [key, state] of arrivals) check.observe(`/cb?click_id=${key}&state=${state}`, '');
    expect(check.stats.outOfOrder).toBe(outOfOrder);
  });

  it('says what the late postback overtook', () => {
    const check = new OrderCheck({ keyParam: 'tx', stateParam: 's', states: STATES });
    expect(check.observe('/cb?tx=1&s=reversed', '')).toBeUndefined();
    expect(check.observe('/cb?tx=1&s=pending', '')).toEqual({ key: '1', state: 'pending', after: 'reversed' });
  });

  it('reads a JSON body when the query lacks the fields, and ignores requests without a key', () => {
    const check = new OrderCheck({ keyParam: 'click_id', stateParam: 'state', states: STATES });
    check.observe('/hook', JSON.stringify({ click_id: 7, state: 'reversed' }));
    expect(check.observe('/hook', JSON.stringify({ click_id: 7, state: 'approved' }))).toMatchObject({ key: '7', after: 'reversed' });
    expect(check.observe('/hook', 'not json')).toBeUndefined();
    expect(check.observe('/cb?state=pending', '')).toBeUndefined();
    expect(check.stats).toEqual({ keys: 1, outOfOrder: 1 });
  });
});
