import { describe, expect, it } from 'vitest';
import { createBackoffStrategy, nextDelayMs } from '../../src/queue/retry-policy.js';
import { parseRetrySchedule } from '../../src/config/retry-schedule.js';

describe('retry policy', () => {
  it('steps through 0/60/90/120/150 s after each failed attempt', () => {
    const s = [0, 60, 90, 120, 150];
    expect([1, 2, 3, 4].map((n) => nextDelayMs(s, n))).toEqual([60_000, 90_000, 120_000, 150_000]);
  });

  it('waits max(step, Retry-After)', () => {
    expect(nextDelayMs([0, 60], 1, 5_000)).toBe(60_000);
    expect(nextDelayMs([0, 60], 1, 120_000)).toBe(120_000);
  });

  it('reads a per-job schedule from job data, else the default', () => {
    const strategy = createBackoffStrategy([0, 1, 2]);
    const data = (sch: number[], a0?: number) => ({ v: 2, ep: 'e', u: 'http://x', to: 1000, sch, ...(a0 === undefined ? {} : { a0 }) });
    expect(strategy(1, 'x', undefined, undefined)).toBe(1000);
    expect(strategy(1, 'x', undefined, { data: data([]) } as never)).toBe(1000);
    expect(strategy(1, 'x', undefined, { data: data([0, 0.25]) } as never)).toBe(250);
    // A job moved to the slow lane after 2 attempts: its first failure there is the third.
    expect(strategy(1, 'x', undefined, { data: data([0, 1, 2, 3], 2) } as never)).toBe(3000);
  });

  it.each([
    ['0,60,90,120,150', [0, 60, 90, 120, 150]],
    ['0, 0.2 ,0.3', [0, 0.2, 0.3]],
  ])('parses RETRY_SCHEDULE %j', (raw, expected) => {
    expect(parseRetrySchedule(raw, 'RETRY_SCHEDULE')).toEqual(expected);
  });

  it.each(['', '1,,2', '-1', 'a', Array(21).fill('1').join(',')])('rejects RETRY_SCHEDULE %j naming the variable', (raw) => {
    expect(() => parseRetrySchedule(raw, 'RETRY_SCHEDULE')).toThrow(/RETRY_SCHEDULE/);
  });
});
