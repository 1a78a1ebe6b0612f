/**
 * Caps attempts in flight per origin within one worker process, so one slow or dead
 * publisher cannot occupy every slot of WORKER_CONCURRENCY. Waiting here consumes no
 * attempt: the attempt (and its deadline) starts only once a slot is free.
 */
export class OriginLimiter {
  private readonly limit: number;
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(limit: number) {
    this.limit = limit;
  }

  async acquire(url: string): Promise<() => void> {
    const origin = originOf(url);
    const count = this.inFlight.get(origin) ?? 0;
    if (count < this.limit) {
      this.inFlight.set(origin, count + 1);
      return () => this.release(origin);
    }
    await new Promise<void>((resolve) => {
      const queue = this.waiting.get(origin);
      if (queue) queue.push(resolve);
      else this.waiting.set(origin, [resolve]);
    });
    return () => this.release(origin);
  }

  private release(origin: string): void {
    const queue = this.waiting.get(origin);
    const next = queue?.shift();
    if (next !== undefined) {
      // Hand the slot straight to the next waiter; the count stays the same.
      if (queue!.length === 0) this.waiting.delete(origin);
      next();
      return;
    }
    const count = (this.inFlight.get(origin) ?? 1) - 1;
    if (count <= 0) this.inFlight.delete(origin);
    else this.inFlight.set(origin, count);
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
