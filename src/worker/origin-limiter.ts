/**
 * Caps attempts in flight per origin within one worker process, so one slow or dead
 * publisher cannot occupy every slot of WORKER_CONCURRENCY. A job over the cap is not
 * held in the process (that would still take a slot): the processor parks it back in
 * BullMQ's delayed set for a short while, which consumes no attempt.
 */
export class OriginLimiter {
  private readonly limit: number;
  private readonly inFlight = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** A release function when a slot is free, else undefined. */
  tryAcquire(url: string): (() => void) | undefined {
    const origin = originOf(url);
    const count = this.inFlight.get(origin) ?? 0;
    if (count >= this.limit) return undefined;
    this.inFlight.set(origin, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.inFlight.get(origin) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(origin);
      else this.inFlight.set(origin, n);
    };
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
