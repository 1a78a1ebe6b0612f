import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

/** What the slow lane's governor looks at, every tick: how the fast lane and its event loop fared since the last one. */
export interface LoadSample {
  /** Fast-lane first attempts started (a batch counts each postback it carries). */
  readonly fastStarts: number;
  /** Of those, the ones that started later than the governor's `fastLagMs` after they were due. */
  readonly fastLate: number;
  /** The fast lane's event loop: delay p99 (ms) and utilisation (0-1). */
  readonly loopDelayMs: number;
  readonly utilization: number;
}

/** Where the fast lane reports when its first attempts started, against when they were due. */
export interface FastLagObserver {
  /** A fast-lane job (of `postbacks` first attempts) started `lagMs` after it was due. */
  observeFastLag(lagMs: number, postbacks: number): void;
}

/** Where the governor's sample comes from: the fast lane in this thread, or in another one (SharedLoadReader). */
export interface LoadSource {
  /** The figures since the last call. */
  sample(): LoadSample;
  close(): void;
}

/** This thread's event loop and the fast-lane starts observed in it (both lanes in one thread). */
export class LocalLoad implements FastLagObserver, LoadSource {
  private readonly fastLagMs: number;
  private readonly loop: IntervalHistogram;
  private utilization: EventLoopUtilization = performance.eventLoopUtilization();
  private fastStarts = 0;
  private fastLate = 0;

  constructor(fastLagMs: number) {
    this.fastLagMs = fastLagMs;
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
  }

  observeFastLag(lagMs: number, postbacks: number): void {
    this.fastStarts += postbacks;
    if (lagMs > this.fastLagMs) this.fastLate += postbacks;
  }

  sample(): LoadSample {
    const loopDelayMs = this.loop.percentile(99) / 1e6;
    this.loop.reset();
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.utilization).utilization;
    this.utilization = now;
    const s = { fastStarts: this.fastStarts, fastLate: this.fastLate, loopDelayMs, utilization };
    this.fastStarts = 0;
    this.fastLate = 0;
    return s;
  }

  close(): void {
    this.loop.disable();
  }
}

/*
 * The fast lane's figures for a slow lane in another thread, in shared memory: two running
 * counts (starts, late starts), and the fast lane's loop delay and utilisation as of its
 * last tick. Heuristics: a reader may see a count one tick ahead of the other, harmlessly.
 */
const STARTS = 0;
const LATE = 1;
const DELAY = 1; // Float64 slots, after the two Int32 counts
const UTIL = 2;
const BYTES = 24;

/** The shared memory a SharedLoadWriter fills and a SharedLoadReader in another thread reads. */
export function createLoadBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BYTES);
}

/** The fast lane's side: its own figures (LocalLoad), published every `tickMs`, its starts added to the running counts. */
export class SharedLoadWriter implements FastLagObserver {
  private readonly local: LocalLoad;
  private readonly counts: Int32Array;
  private readonly figures: Float64Array;
  private readonly timer: NodeJS.Timeout;

  constructor(buffer: SharedArrayBuffer, fastLagMs: number, tickMs: number) {
    this.local = new LocalLoad(fastLagMs);
    this.counts = new Int32Array(buffer, 0, 2);
    this.figures = new Float64Array(buffer, 0, 3);
    this.timer = setInterval(() => this.publish(), tickMs);
    this.timer.unref();
  }

  observeFastLag(lagMs: number, postbacks: number): void {
    this.local.observeFastLag(lagMs, postbacks);
  }

  /** Publishes the figures since the last tick (and the tick's starts: a reader sees them within one tick). */
  publish(): void {
    const { fastStarts, fastLate, loopDelayMs, utilization } = this.local.sample();
    Atomics.add(this.counts, STARTS, fastStarts);
    Atomics.add(this.counts, LATE, fastLate);
    this.figures[DELAY] = loopDelayMs;
    this.figures[UTIL] = utilization;
  }

  close(): void {
    clearInterval(this.timer);
    this.local.close();
  }
}

/**
 * The slow lane's side, in its own thread: the fast lane's figures since the last sample.
 * Utilisation is the busier of the two threads': a slow lane with a loop of its own would
 * otherwise take a whole core, and Redis with it, from a machine whose fast lane is in use
 * (a dead endpoint's circuit_open attempts, each a job).
 */
export class SharedLoadReader implements LoadSource {
  private readonly counts: Int32Array;
  private readonly figures: Float64Array;
  private lastStarts: number;
  private lastLate: number;
  private utilization: EventLoopUtilization = performance.eventLoopUtilization();

  constructor(buffer: SharedArrayBuffer) {
    this.counts = new Int32Array(buffer, 0, 2);
    this.figures = new Float64Array(buffer, 0, 3);
    this.lastStarts = Atomics.load(this.counts, STARTS);
    this.lastLate = Atomics.load(this.counts, LATE);
  }

  sample(): LoadSample {
    const starts = Atomics.load(this.counts, STARTS);
    const late = Atomics.load(this.counts, LATE);
    // Running counts wrap at 2^31: the difference, taken as 32-bit, is right across a wrap.
    const now = performance.eventLoopUtilization();
    const own = performance.eventLoopUtilization(now, this.utilization).utilization;
    this.utilization = now;
    const s = {
      fastStarts: (starts - this.lastStarts) | 0,
      fastLate: (late - this.lastLate) | 0,
      loopDelayMs: this.figures[DELAY]!,
      utilization: Math.max(own, this.figures[UTIL]!),
    };
    this.lastStarts = starts;
    this.lastLate = late;
    return s;
  }

  close(): void {}
}
