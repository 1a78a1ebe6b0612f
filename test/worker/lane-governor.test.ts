import { afterEach, describe, expect, it } from 'vitest';
import { LaneGovernor, type GovernorOptions } from '../../src/worker/lane-governor.js';
import { LocalLoad } from '../../src/worker/lane-load.js';

/** Waits for `n` governor ticks (real time: the governor samples the event loop). */
const ticks = (n: number, tickMs: number) => new Promise((r) => setTimeout(r, n * tickMs + tickMs / 2));

describe('LaneGovernor', () => {
  let g: LaneGovernor | undefined;
  /** The fast lane's side: where it reports its starts (the governor reads the same figures). */
  let fast: LocalLoad;
  afterEach(() => g?.close());
  /** A governor pacing by this thread's figures, as with both lanes in one thread. */
  const governor = (o: GovernorOptions): LaneGovernor => {
    fast = new LocalLoad(o.fastLagMs);
    return new LaneGovernor(o, fast);
  };
  // Lag and utilisation off (each test turns on what it checks); in use = a start within 2 ticks.
  const options = { maxRate: 1000, minRate: 10, initialRate: 100, fastLagMs: 15, loopDelayMs: 1000, maxUtilization: 1, fastIdleMs: 40, burstMs: 20, tickMs: 20 };

  /** Keeps the event loop about 80% busy (8 ms of work every 10 ms), optionally with on-time fast-lane starts. */
  function busyLoop(fastStarts: boolean): NodeJS.Timeout {
    return setInterval(() => {
      const until = performance.now() + 8;
      while (performance.now() < until);
      if (fastStarts) fast.observeFastLag(1, 1);
    }, 10);
  }

  it('halves the slow lane rate when more than a tenth of fast-lane starts are late, down to the minimum', async () => {
    g = governor(options);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 10; j++) fast.observeFastLag(j < 5 ? 50 : 1, 1);
      await ticks(1, options.tickMs);
    }
    expect(g.currentRate).toBeLessThanOrEqual(100 / 8);
    expect(g.currentRate).toBeGreaterThanOrEqual(10);
  });

  it('raises the rate slowly while it holds starts back and the fast lane is busy but on time, fast when it is idle', async () => {
    g = governor(options);
    // Demand beyond the rate: starts wait for tokens the whole time (until close says stop).
    const demand = (async () => {
      while (await g.pace());
    })();
    // Fast lane busy and on time: one late start in ten is not congestion.
    const onTime = setInterval(() => {
      for (let j = 0; j < 10; j++) fast.observeFastLag(j === 0 ? 50 : 1, 1);
    }, options.tickMs / 4);
    await ticks(3, options.tickMs);
    const busy = g.currentRate;
    expect(busy).toBeGreaterThan(100);
    expect(busy).toBeLessThan(100 * 1.25 * 1.25 * 1.25);
    // Fast lane idle (no start for fastIdleMs): nothing to protect, the rate doubles each tick up to the maximum.
    clearInterval(onTime);
    await ticks(8, options.tickMs);
    expect(g.currentRate).toBe(1000);
    g.close();
    await demand;
  });

  it('halves the rate while the fast lane is in use and the event loop is busier than maxUtilization, though nothing is late yet', async () => {
    g = governor({ ...options, maxUtilization: 0.5 });
    const busy = busyLoop(true);
    try {
      await ticks(5, options.tickMs);
    } finally {
      clearInterval(busy);
    }
    expect(g.currentRate).toBeLessThanOrEqual(100 / 4);
  });

  it('lets the slow lane have a busy event loop while the fast lane is idle (nothing to protect)', async () => {
    g = governor({ ...options, maxUtilization: 0.5 });
    const demand = (async () => {
      while (await g.pace());
    })();
    const busy = busyLoop(false);
    try {
      await ticks(5, options.tickMs);
    } finally {
      clearInterval(busy);
    }
    expect(g.currentRate).toBeGreaterThanOrEqual(200);
    g.close();
    await demand;
  });

  it('does not raise the rate nobody uses', async () => {
    g = governor(options);
    await ticks(5, options.tickMs);
    expect(g.currentRate).toBe(100);
  });

  it('lets starts through at the current rate, in order', async () => {
    g = governor({ ...options, initialRate: 100, maxRate: 100 });
    const order: number[] = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => g!.pace().then(() => order.push(i))));
    const elapsed = performance.now() - t0;
    expect(order).toEqual([...Array(12).keys()]);
    // A burst of 2 (100/s over burstMs, 20 ms), then 10 more at 100/s: about 100 ms.
    expect(elapsed).toBeGreaterThanOrEqual(80);
  });

  it('releases every waiter on close with false (the job goes back), and refuses new starts', async () => {
    g = governor({ ...options, initialRate: 10, maxRate: 10, minRate: 10 });
    const waiting = Promise.all(Array.from({ length: 50 }, () => g!.pace()));
    g.close();
    await expect(waiting).resolves.toEqual(Array(50).fill(false));
    expect(await g.pace()).toBe(false);
  });
});
