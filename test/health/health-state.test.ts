import { describe, expect, it } from 'vitest';
import { histogramQuantile, laneOf, latencyBucket, LATENCY_BUCKETS_MS, subjectOf } from '../../src/health/health-state.js';
import { alertFor } from '../../src/worker/alert-sender.js';
import { AdaptiveLimiter } from '../../src/worker/adaptive-limiter.js';

describe('health state helpers', () => {
  it('puts degraded and open endpoints in the slow lane, the rest in the fast one', () => {
    expect([laneOf('healthy'), laneOf('degraded'), laneOf('open'), laneOf('disabled')]).toEqual(['fast', 'slow', 'slow', 'fast']);
  });

  it('keys inline targets by origin and registered endpoints by id', () => {
    expect(subjectOf('pub7', 'https://a.example/x?y=1')).toBe('pub7');
    expect(subjectOf('inline', 'HTTPS://A.example:8443/x?y=1')).toBe('inline@https://a.example:8443');
    expect(subjectOf('inline', 'http://b.example')).toBe('inline@http://b.example');
  });

  it.each([
    [0, 0], [5, 0], [6, 1], [250, 5], [999, 7], [1000, 7], [30_000, 11], [30_001, 12],
  ])('puts %i ms in latency bucket %i', (ms, bucket) => {
    expect(latencyBucket(ms)).toBe(bucket);
  });

  it('reads quantiles as bucket upper bounds, and none from an empty histogram', () => {
    const h = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
    expect(histogramQuantile(h, 0.5)).toBeNull();
    h[2] = 98; // <= 25 ms
    h[9] = 2; // <= 5000 ms
    expect(histogramQuantile(h, 0.5)).toBe(25);
    expect(histogramQuantile(h, 0.99)).toBe(5000);
    h[12] = 100; // over 30 s
    expect(histogramQuantile(h, 0.99)).toBe(30_000);
  });

  it.each([
    ['healthy', 'degraded', 'endpoint.degraded'],
    ['healthy', 'open', 'endpoint.degraded'],
    ['degraded', 'open', undefined],
    ['open', 'healthy', 'endpoint.recovered'],
    ['degraded', 'healthy', 'endpoint.recovered'],
    ['degraded', 'disabled', 'endpoint.disabled'],
    ['disabled', 'healthy', undefined],
  ] as const)('alerts %s -> %s as %s', (from, to, type) => {
    expect(alertFor({ subject: 'e', from, to, consecutiveFailures: 0 })).toBe(type);
  });
});

describe('AdaptiveLimiter', () => {
  it('starts low, doubles while uncongested, halves on congestion, then grows by one', () => {
    const l = new AdaptiveLimiter({ initial: 2, min: 1, max: 25 });
    const a = l.tryAcquire('o', 'adaptive')!;
    const b = l.tryAcquire('o', 'adaptive')!;
    expect(l.tryAcquire('o', 'adaptive')).toBeUndefined();
    a(5, false);
    expect(l.limitOf('o')).toBe(4);
    b(5, false);
    expect(l.limitOf('o')).toBe(8);
    l.tryAcquire('o', 'adaptive')!(2000, true);
    expect(l.limitOf('o')).toBe(4);
    l.tryAcquire('o', 'adaptive')!(5, false);
    expect(l.limitOf('o')).toBe(5);
    expect(l.atCeiling('o')).toBe(false);
  });

  it('never goes under min or over max, and a release counts once', () => {
    const l = new AdaptiveLimiter({ initial: 2, min: 1, max: 3 });
    for (let i = 0; i < 5; i++) l.tryAcquire('o', 'adaptive')!(1, true);
    expect(l.limitOf('o')).toBe(1);
    const r = l.tryAcquire('o', 'adaptive')!;
    r(1, false);
    r(1, false);
    expect(l.limitOf('o')).toBe(2);
    for (let i = 0; i < 5; i++) l.tryAcquire('o', 'adaptive')!(1, false);
    expect(l.limitOf('o')).toBe(3);
    expect(l.atCeiling('o')).toBe(true);
  });

  it('lets a last chance through up to the ceiling and a probe past everything', () => {
    const l = new AdaptiveLimiter({ initial: 1, min: 1, max: 2 });
    expect(l.tryAcquire('o', 'adaptive')).toBeDefined();
    expect(l.tryAcquire('o', 'adaptive')).toBeUndefined();
    expect(l.tryAcquire('o', 'ceiling')).toBeDefined();
    expect(l.tryAcquire('o', 'ceiling')).toBeUndefined();
    expect(l.tryAcquire('o', 'force')).toBeDefined();
  });

  it('refuses options that cannot hold, naming them', () => {
    expect(() => new AdaptiveLimiter({ initial: 5, min: 1, max: 2 })).toThrow(/min <= initial <= max/);
  });

  it('spreads parked jobs over the time the origin frees slots, 50 ms to 30 s', () => {
    const l = new AdaptiveLimiter({ initial: 1, min: 1, max: 1 });
    l.tryAcquire('o', 'adaptive')!(2000, false);
    const delays = Array.from({ length: 5 }, () => l.parkDelayMs('o'));
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
    expect(delays[4]!).toBeGreaterThan(delays[0]!);
  });
});

describe('AdaptiveLimiter.acquire (a batch waiting in line)', () => {
  it('grants slots in arrival order as they free up, and the limit grows while it does', async () => {
    const l = new AdaptiveLimiter({ initial: 2, min: 1, max: 8 });
    (await l.acquire('o', 1000))!(5, false); // it answered: limit 2 -> 4
    const order: number[] = [];
    const releases = await Promise.all([l.acquire('o', 1000), l.acquire('o', 1000), l.acquire('o', 1000), l.acquire('o', 1000)]);
    const waiting = [0, 1, 2, 3].map((i) => l.acquire('o', 1000).then((r) => (order.push(i), r)));
    releases[0]!(5, false); // limit 4 -> 8: five may start, four are waiting
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2, 3]);
    const rest = await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(rest.every((r) => typeof r === 'function')).toBe(true);
  });

  it('does not keep anyone waiting for an origin it never heard from, below the ceiling', async () => {
    const l = new AdaptiveLimiter({ initial: 1, min: 1, max: 8 });
    const held = await l.acquire('new', 1000);
    expect(typeof held).toBe('function');
    expect(await l.acquire('new', 1000)).toBeUndefined();
  });

  it('keeps a line for an origin that answered before and has been idle since', async () => {
    const l = new AdaptiveLimiter({ initial: 1, min: 1, max: 8 });
    (await l.acquire('idle', 20))!(5, false); // answered: limit 2
    await new Promise((r) => setTimeout(r, 60)); // idle for three stall periods
    const [a, b] = await Promise.all([l.acquire('idle', 20), l.acquire('idle', 20)]);
    const waiting = l.acquire('idle', 20);
    a!(5, false);
    expect(typeof (await waiting)).toBe('function');
    b!(5, false);
  });

  it('sends a stalled line elsewhere (undefined) below the ceiling, but keeps it waiting at the ceiling', async () => {
    const below = new AdaptiveLimiter({ initial: 1, min: 1, max: 8 });
    (await below.acquire('dead', 50))!(5, false); // answered once (limit 2), then stops answering
    const held = await Promise.all([below.acquire('dead', 50), below.acquire('dead', 50)]);
    expect(await Promise.all([below.acquire('dead', 50), below.acquire('dead', 50)])).toEqual([undefined, undefined]);
    for (const r of held) r!(5, false);

    const full = new AdaptiveLimiter({ initial: 1, min: 1, max: 1 });
    (await full.acquire('busy', 50))!(5, false);
    const busy = await full.acquire('busy', 50);
    const waiter = full.acquire('busy', 50);
    await new Promise((r) => setTimeout(r, 150)); // three stall periods pass
    busy!(5, false);
    expect(typeof (await waiter)).toBe('function');
  });
});
