import { afterEach, describe, expect, it } from 'vitest';
import { LaneGovernor } from '../../src/worker/lane-governor.js';
import { SharedLoadReader, SharedLoadWriter, createLoadBuffer, type LoadSample, type LoadSource } from '../../src/worker/lane-load.js';
import { waitUntil } from '../helpers/wait-until.js';

/** The fast lane's figures, shared with the slow lane's thread (here both ends in one thread, on one buffer). */
describe('shared lane load', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  it("hands the fast lane's starts and late starts to the reader, each once", () => {
    const buffer = createLoadBuffer();
    const writer = new SharedLoadWriter(buffer, 15, 1000);
    closers.push(() => writer.close());
    const reader = new SharedLoadReader(buffer);
    writer.observeFastLag(50, 3); // late, a batch of 3
    writer.observeFastLag(1, 2); // on time
    expect(reader.sample().fastStarts).toBe(0); // published on the writer's tick
    writer.publish();
    const first = reader.sample();
    expect([first.fastStarts, first.fastLate]).toEqual([5, 3]);
    const second = reader.sample();
    expect([second.fastStarts, second.fastLate]).toEqual([0, 0]);
  });

  it("publishes the fast lane's event-loop utilisation every tick: a busy fast lane reads as busy", async () => {
    const buffer = createLoadBuffer();
    const writer = new SharedLoadWriter(buffer, 15, 20);
    closers.push(() => writer.close());
    const reader = new SharedLoadReader(buffer);
    // 8 ms of work every 10 ms on this (the "fast lane's") loop.
    const busy = setInterval(() => {
      const until = performance.now() + 8;
      while (performance.now() < until);
    }, 10);
    closers.push(() => clearInterval(busy));
    let seen: LoadSample | undefined;
    await waitUntil(() => (seen = reader.sample()).utilization > 0.5, 5000, 'busy loop published');
    expect(seen!.utilization).toBeLessThanOrEqual(1);
  });

  it("paces the slow lane by another thread's figures: late fast-lane starts there halve the rate here", async () => {
    let late = true;
    const remote: LoadSource = {
      sample: () => ({ fastStarts: 10, fastLate: late ? 5 : 0, loopDelayMs: 0, utilization: 0 }),
      close: () => undefined,
    };
    const g = new LaneGovernor({ maxRate: 1000, minRate: 10, initialRate: 400, fastLagMs: 15, loopDelayMs: 1000, maxUtilization: 1, fastIdleMs: 40, burstMs: 20, tickMs: 20 }, remote);
    closers.push(() => g.close());
    await waitUntil(() => g.currentRate <= 50, 5000, 'rate halved by remote lateness');
    late = false;
    expect(g.currentRate).toBeGreaterThanOrEqual(10);
  });
});
