/**
 * Caps attempts in flight per origin within one worker process, so one slow or dead
 * publisher cannot occupy every slot of WORKER_CONCURRENCY. A job over the cap is not
 * held in the process (that would still take a slot): the processor parks it back in
 * BullMQ's delayed set for a short while, which consumes no attempt.
 */
export class OriginLimiter {
  private readonly limit: number;
  private readonly inFlight = new Map<string, number>();
  /** Moving average of attempt durations per origin: how soon a slot is likely to free up. */
  private readonly avgMs = new Map<string, number>();
  /** Jobs this process parked per origin and has not seen back yet. */
  private readonly parked = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** A release function (to call with the attempt's duration) when a slot is free, else undefined. */
  tryAcquire(url: string, returningFromPark: boolean): ((durationMs: number) => void) | undefined {
    const origin = originOf(url);
    const waiting = this.parked.get(origin);
    // A parked job comes back through here: it is no longer waiting.
    if (returningFromPark && waiting !== undefined) {
      if (waiting <= 1) this.parked.delete(origin);
      else this.parked.set(origin, waiting - 1);
    }
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
      if (n <= 0) this.inFlight.delete(origin);
      else this.inFlight.set(origin, n);
    };
  }

  /**
   * How long a job over its origin's cap should wait before it is tried again: its place
   * among the jobs parked for that origin, in slot turnovers (the origin's average attempt
   * duration / cap), jittered, 50 ms to 30 s. A dead origin's backlog then comes back
   * spread over the time its slots can take it, instead of churning the queue.
   */
  parkDelayMs(url: string): number {
    const origin = originOf(url);
    const place = (this.parked.get(origin) ?? 0) + 1;
    this.parked.set(origin, place);
    const turnover = (this.avgMs.get(origin) ?? 100) / this.limit;
    const delay = turnover * place * (0.75 + Math.random() * 0.5);
    return Math.round(Math.min(30_000, Math.max(50, delay)));
  }
}

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
