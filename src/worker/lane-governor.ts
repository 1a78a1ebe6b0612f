import { performance } from 'node:perf_hooks';
import type { LoadSource } from './lane-load.js';

export interface GovernorOptions {
  /** Most slow-lane job starts per second (the rate when nothing is congested). */
  readonly maxRate: number;
  /** Least starts per second: probes and last chances always get through. */
  readonly minRate: number;
  /** The rate it starts at: low, so a burst of bad traffic at start does not run ahead of the first tick. */
  readonly initialRate: number;
  /** Fast-lane lateness (ms past due) that counts as late; when more than a tenth of a tick's fast-lane starts are late, the slow lane backs off. */
  readonly fastLagMs: number;
  /** Event-loop delay (ms, p99 over a tick) above which the slow lane backs off. */
  readonly loopDelayMs: number;
  /**
   * Event-loop utilisation (0-1, over a tick) above which the slow lane backs off while the
   * fast lane is in use: headroom for the healthy endpoints' jobs and the API's calls,
   * whose next arrival a busy loop would keep waiting.
   */
  readonly maxUtilization: number;
  /** The fast lane counts as in use until it has started nothing for this long (ms). */
  readonly fastIdleMs: number;
  /** Most starts let through at once: the bucket holds this many ms of the rate. */
  readonly burstMs: number;
  readonly tickMs: number;
}

export const DEFAULT_GOVERNOR: GovernorOptions = {
  maxRate: 20_000,
  minRate: 50,
  initialRate: 20_000,
  fastLagMs: 15,
  loopDelayMs: 40,
  maxUtilization: 0.5,
  fastIdleMs: 500,
  burstMs: 10,
  tickMs: 100,
};

/**
 * Gives the fast lane first claim on this process's CPU. Every slow-lane request (a lone
 * job's or a batch item's, in the adaptive mode) takes a token from a bucket whose rate
 * adapts (AIMD, every tick): halved when fast-lane jobs start late, the event loop lags, or,
 * while the fast lane is in use, the loop is busier than `maxUtilization` (lateness and lag
 * are seen only once the damage is done; utilisation is seen before); raised otherwise. A
 * slow or dead endpoint's requests and what follows them cost CPU and Redis; under load
 * they wait for the healthy endpoints instead of the other way round. What sends nothing
 * (an open circuit's circuit_open attempts, carried by retry batches, a job per group)
 * takes no token, nor do the probe and last chances: they keep their schedule. The rate
 * rises slowly (5% + minRate a tick) and falls fast (halved), because slow-lane work
 * started now is felt a tick later. Requests in flight take no tokens.
 */
export class LaneGovernor {
  private readonly options: GovernorOptions;
  private readonly load: LoadSource;
  private rate: number;
  private tokens: number;
  private lastRefill = performance.now();
  /** Whether a start waited for a token during this tick. */
  private limited = false;
  /** When the fast lane last started a job (performance.now()): it is protected while in use. */
  private fastLastStart = Number.NEGATIVE_INFINITY;
  private readonly timer: NodeJS.Timeout;
  private readonly waiters: ((go: boolean) => void)[] = [];
  private closed = false;
  private drainTimer: NodeJS.Timeout | undefined;

  /** `load`: the fast lane's figures (this thread's LocalLoad, or a SharedLoadReader); closed with the governor. */
  constructor(options: GovernorOptions, load: LoadSource) {
    this.options = options;
    this.load = load;
    this.rate = options.initialRate;
    this.tokens = options.initialRate * (options.tickMs / 1000);
    this.timer = setInterval(() => this.tick(), options.tickMs);
    this.timer.unref();
  }

  /** Whether it was closed: the process is stopping, and slow-lane jobs not yet started go back to the queue. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts per second allowed now (for metrics and tests). */
  get currentRate(): number {
    return this.rate;
  }

  /**
   * Resolves true when a slow-lane job may start, or false once the governor is closed (the
   * process is stopping): the caller puts the job back without using an attempt.
   */
  pace(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve(true);
    }
    this.limited = true;
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.scheduleDrain();
    });
  }

  private refill(): void {
    const now = performance.now();
    const burst = Math.max(1, this.rate * (this.options.burstMs / 1000));
    this.tokens = Math.min(burst, this.tokens + ((now - this.lastRefill) / 1000) * this.rate);
    this.lastRefill = now;
  }

  private scheduleDrain(): void {
    if (this.drainTimer !== undefined) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      this.refill();
      while (this.waiters.length > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.waiters.shift()!(true);
      }
      if (this.waiters.length > 0) this.scheduleDrain();
    }, wait);
    this.drainTimer.unref();
  }

  private tick(): void {
    const { fastStarts, fastLate, loopDelayMs, utilization } = this.load.sample();
    if (fastStarts > 0) this.fastLastStart = performance.now();
    const fastInUse = performance.now() - this.fastLastStart < this.options.fastIdleMs;
    const congested = fastLate * 10 > fastStarts || loopDelayMs > this.options.loopDelayMs || (fastInUse && utilization > this.options.maxUtilization);
    const { minRate, maxRate } = this.options;
    // Slow to rise, quick to fall: a burst of slow-lane work lands before the next tick can
    // see it. It rises only while it held starts back: an allowance nobody used is no proof
    // that the machine can take it, and would let the next burst through unchecked.
    // With the fast lane idle for a while there is nothing to protect: open up quickly. (A
    // tick without fast starts is no proof of that: healthy traffic comes in bursts, and a
    // rate doubled between two of them let 1,500 circuit_open attempts into 250 ms.)
    if (congested) this.rate = Math.max(minRate, this.rate / 2);
    else if (this.limited) this.rate = Math.min(maxRate, !fastInUse ? this.rate * 2 + minRate : this.rate * 1.05 + minRate);
    this.limited = this.waiters.length > 0;
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.drainTimer);
    this.load.close();
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(false);
  }
}
