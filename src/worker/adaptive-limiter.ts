/** How a caller asks for a slot. */
export type AcquireMode =
  /** Within the origin's adaptive limit. */
  | 'adaptive'
  /** Within the hard ceiling only (a postback's last chance to be sent at all). */
  | 'ceiling'
  /** Always (the one probe of an open circuit). */
  | 'force';

export interface LimiterOptions {
  /** The limit an origin starts at (and returns to once forgotten). */
  readonly initial: number;
  readonly min: number;
  /** The hard ceiling. */
  readonly max: number;
}

type Release = (durationMs: number, congested: boolean) => void;

interface OriginState {
  inFlight: number;
  limit: number;
  /** Doubling until the first congestion (slow start), then +1 per attempt. */
  slowStart: boolean;
  /** Moving average of attempt durations: how often a slot frees up. */
  avgMs: number;
  /** When the last job this process parked for the origin is due back. */
  parkedUntil: number;
  /** Callers waiting for a slot within the adaptive limit, first come first served. */
  line: WaitLine | undefined;
  /** When an attempt last came back uncongested (0: never). */
  answeredAtMs: number;
  /** When an attempt last came back at all (or the origin was first seen). */
  releasedAtMs: number;
  /** When attempts went in flight from none. */
  busySinceMs: number;
}

type Grant = (release: Release | undefined) => void;

/** Waiters turned away by a stalled line, a chunk per turn of the event loop: each goes on to enqueue a job, and a thousand at once would hold the loop. */
function sendAway(waiting: Grant[], from: number): void {
  const end = Math.min(waiting.length, from + SEND_AWAY_CHUNK);
  for (let i = from; i < end; i++) waiting[i]!(undefined);
  if (end < waiting.length) setImmediate(() => sendAway(waiting, end));
}
const SEND_AWAY_CHUNK = 32;

interface WaitLine {
  /** Waiters from `head` on; those before it were served (a queue without shift()'s copying). */
  readonly waiting: Grant[];
  head: number;
  lastGrantMs: number;
  timer: NodeJS.Timeout | undefined;
}

const MIN_PARK_MS = 50;
const MAX_PARK_MS = 30_000;
/**
 * Most a job waits parked for an origin that has not answered (never, or not for this
 * long while busy): such an origin's circuit is about to open, or its endpoint to be
 * disabled, and its parked jobs must come back to be recorded on their schedule rather
 * than at the end of a 30 s spread.
 */
const UNANSWERED_PARK_MS = 1000;
const MAX_TRACKED_ORIGINS = 10_000;

/**
 * Attempts in flight per origin within one worker process, with an adaptive limit (AIMD,
 * as TCP does): doubled on each uncongested attempt until the first congestion (slow
 * start), +1 after that, halved on a congested one (timeout, connection error, or a slow
 * answer where speed is expected). A new origin starts low, so slow or dead ones never
 * hold more than a slot or two before they are found out; a fast one reaches the ceiling
 * within a handful of attempts.
 */
export class AdaptiveLimiter {
  private readonly options: LimiterOptions;
  private readonly origins = new Map<string, OriginState>();

  constructor(options: LimiterOptions) {
    if (!(options.min >= 1 && options.min <= options.initial && options.initial <= options.max)) {
      throw new RangeError(`limiter needs 1 <= min <= initial <= max, got ${JSON.stringify(options)}`);
    }
    this.options = options;
  }

  private state(origin: string): OriginState {
    let s = this.origins.get(origin);
    if (s === undefined) {
      if (this.origins.size >= MAX_TRACKED_ORIGINS) this.forgetIdle();
      s = { inFlight: 0, limit: this.options.initial, slowStart: true, avgMs: 100, parkedUntil: 0, line: undefined, answeredAtMs: 0, releasedAtMs: Date.now(), busySinceMs: 0 };
      this.origins.set(origin, s);
    }
    return s;
  }

  limitOf(origin: string): number {
    return this.origins.get(origin)?.limit ?? this.options.initial;
  }

  /** True when the origin may use the whole ceiling: it is busy, not congested. */
  atCeiling(origin: string): boolean {
    return this.limitOf(origin) >= this.options.max;
  }

  /** Whether tryAcquire(origin, 'adaptive') would give a slot now. */
  admits(origin: string): boolean {
    const s = this.origins.get(origin);
    return s === undefined || s.inFlight < s.limit;
  }

  /** A release function when a slot is free, else undefined. */
  tryAcquire(origin: string, mode: AcquireMode): Release | undefined {
    const s = this.state(origin);
    if (s.inFlight >= this.capOf(s, mode)) return undefined;
    return this.take(s);
  }

  /**
   * A slot within the adaptive limit, waiting for one in line (a batch's items queue here
   * rather than in Redis). At its ceiling the origin is merely busy, and callers wait.
   * Below it, an origin is waited for unless it is unanswering (never answered, or busy
   * for `stallMs` without an answer); then, and when a line makes no progress for
   * `stallMs`, the answer is undefined at once: the caller should send elsewhere (the slow
   * lane), as it would a lone job, rather than pile up behind an origin that does not
   * answer. (Measured: letting a new origin's line wait its first second sent a black
   * hole's backlog to the slow lane in one burst, and healthy p99 beside 16 of them went
   * from ~55 to ~300 ms.)
   */
  acquire(origin: string, stallMs: number): Promise<Release | undefined> {
    const s = this.state(origin);
    if (s.inFlight < s.limit && s.line === undefined) return Promise.resolve(this.take(s));
    if (s.limit < this.options.max && this.unanswering(s, stallMs)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      if (s.line === undefined) {
        s.line = { waiting: [], head: 0, lastGrantMs: Date.now(), timer: undefined };
        this.watchStall(s, s.line, stallMs);
      }
      s.line.waiting.push(resolve);
    });
  }

  /**
   * Never answered at all, or busy for `stallMs` without an answer (timeouts and refusals
   * are not answers; an origin idle for a while is not unanswering the moment it is busy).
   */
  private unanswering(s: OriginState, stallMs: number): boolean {
    return s.answeredAtMs === 0 || Date.now() - Math.max(s.busySinceMs, s.answeredAtMs) > stallMs;
  }

  /** One timer per waiting line, not per waiter: checks every `stallMs` that the line moves. */
  private watchStall(s: OriginState, line: WaitLine, stallMs: number): void {
    line.timer = setTimeout(() => {
      if (s.line !== line) return;
      if (Date.now() - line.lastGrantMs >= stallMs && s.limit < this.options.max) {
        s.line = undefined;
        sendAway(line.waiting, line.head);
        return;
      }
      this.watchStall(s, line, stallMs);
    }, stallMs);
  }

  /** Hands freed slots to the line, in order. */
  private wake(s: OriginState): void {
    const line = s.line;
    if (line === undefined) return;
    const { waiting } = line;
    while (line.head < waiting.length && s.inFlight < s.limit) {
      const grant = waiting[line.head]!;
      waiting[line.head++] = undefined as unknown as Grant;
      line.lastGrantMs = Date.now();
      grant(this.take(s));
    }
    if (line.head >= waiting.length) {
      clearTimeout(line.timer);
      s.line = undefined;
    } else if (line.head > 1024 && line.head * 2 > waiting.length) {
      waiting.splice(0, line.head);
      line.head = 0;
    }
  }

  private capOf(s: OriginState, mode: AcquireMode): number {
    return mode === 'adaptive' ? s.limit : mode === 'ceiling' ? this.options.max : Infinity;
  }

  private take(s: OriginState): Release {
    if (s.inFlight === 0) s.busySinceMs = Date.now();
    s.inFlight++;
    let released = false;
    return (durationMs, congested) => {
      if (released) return;
      released = true;
      s.inFlight--;
      s.avgMs = s.avgMs * 0.8 + durationMs * 0.2;
      s.releasedAtMs = Date.now();
      if (congested) {
        s.slowStart = false;
        s.limit = Math.max(this.options.min, Math.floor(s.limit / 2));
      } else {
        s.limit = Math.min(this.options.max, s.slowStart ? s.limit * 2 : s.limit + 1);
        s.answeredAtMs = Date.now();
      }
      this.wake(s);
    };
  }

  /**
   * When a job over its origin's limit should be tried again: the next free place in a
   * schedule that releases one parked job per slot turnover (average duration, or the time
   * since an attempt last came back if longer, / limit),
   * after the last job parked for that origin, jittered, 50 ms to 30 s. A slow origin's
   * backlog comes back spread over the time its slots can take it instead of churning. An
   * origin that does not answer holds its jobs 0.5-1 s at most: they come back to find its
   * circuit open (circuit_open, on schedule) or it answering again.
   */
  parkDelayMs(origin: string): number {
    const s = this.state(origin);
    const now = Date.now();
    // Attempts in flight for longer than the average say more about the next free slot than
    // the average does (a black hole's first attempts, before any has come back).
    const waitedMs = s.inFlight > 0 ? now - s.releasedAtMs : 0;
    const turnover = Math.max(s.avgMs, waitedMs) / s.limit;
    const due = Math.min(now + MAX_PARK_MS, Math.max(now, s.parkedUntil) + turnover);
    s.parkedUntil = due;
    const delay = (due - now) * (0.75 + Math.random() * 0.5);
    const most = this.unanswering(s, UNANSWERED_PARK_MS) ? UNANSWERED_PARK_MS * (0.5 + Math.random() * 0.5) : MAX_PARK_MS;
    return Math.round(Math.min(most, Math.max(MIN_PARK_MS, delay)));
  }

  /** Keeps the map as small as the set of busy origins. */
  private forgetIdle(): void {
    const now = Date.now();
    for (const [origin, s] of this.origins) if (s.inFlight === 0 && s.parkedUntil < now && s.line === undefined) this.origins.delete(origin);
  }
}
