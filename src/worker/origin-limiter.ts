/**
 * Caps attempts in flight per origin within one worker process, so one slow or dead
 * publisher cannot occupy every slot of WORKER_CONCURRENCY. A job over the cap is not
 * held in the process (that would still take a slot): the processor parks it back in
 * BullMQ's delayed set for a short while, which consumes no attempt.
 */
export class OriginLimiter {
  private readonly limit: number;
  private readonly inFlight = new Map<string, number>();
  /** Moving average of attempt durations per origin: how often a slot frees up. */
  private readonly avgMs = new Map<string, number>();
  /** Per origin, when the last job this process parked is due back. */
  private readonly parkedUntil = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** A release function (to call with the attempt's duration) when a slot is free, else undefined. */
  tryAcquire(url: string): ((durationMs: number) => void) | undefined {
    const origin = originOf(url);
    const count = this.inFlight.get(origin) ?? 0;
    if (count >= this.limit) return undefined;
    this.inFlight.set(origin, count + 1);
    let released = false;
    return (durationMs) => {
      if (released) return;
      released = true;
      const prev = this.avgMs.get(origin);
      this.avgMs.set(origin, prev === undefined ? durationMs : prev * 0.8 + durationMs * 0.2);
      const n = (this.inFlight.get(origin) ?? 1) - 1;
      if (n > 0) {
        this.inFlight.set(origin, n);
        return;
      }
      this.inFlight.delete(origin);
      // Forget idle origins so the maps stay as small as the set of busy publishers.
      if ((this.parkedUntil.get(origin) ?? 0) < Date.now()) {
        this.parkedUntil.delete(origin);
        if (this.avgMs.size > MAX_TRACKED_ORIGINS) this.avgMs.delete(origin);
      }
    };
  }

  /**
   * When a job over its origin's cap should be tried again: the next free place in a
   * schedule that releases one parked job per slot turnover (the origin's average attempt
   * duration / cap), after the last job this process parked for that origin. A dead
   * origin's backlog then comes back spread over the time its slots can take it, instead
   * of churning the queue; nothing has to be counted back in, so nothing can drift.
   * Jittered, 50 ms to 30 s.
   */
  parkDelayMs(url: string): number {
    const origin = originOf(url);
    const now = Date.now();
    const turnover = (this.avgMs.get(origin) ?? 100) / this.limit;
    const tail = Math.max(now, this.parkedUntil.get(origin) ?? 0);
    const due = Math.min(now + MAX_PARK_MS, tail + turnover);
    this.parkedUntil.set(origin, due);
    const delay = (due - now) * (0.75 + Math.random() * 0.5);
    return Math.round(Math.min(MAX_PARK_MS, Math.max(MIN_PARK_MS, delay)));
  }
}

const MIN_PARK_MS = 50;
const MAX_PARK_MS = 30_000;
const MAX_TRACKED_ORIGINS = 10_000;

/** scheme://host:port of a URL without allocating a URL object. */
export function originOf(url: string): string {
  const start = url.indexOf('//');
  if (start === -1) return url;
  let end = url.length;
  for (let i = start + 2; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(0, end).toLowerCase();
}
