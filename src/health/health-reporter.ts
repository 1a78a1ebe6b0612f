import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import type { HealthBoard } from './health-board.js';
import type { HealthPolicy } from './health-policy.js';
import { LATENCY_BUCKETS_MS, isInlineSubject, latencyBucket, type HealthState } from './health-state.js';
import { REPORT_HEALTH } from './scripts/health-scripts.js';

export interface Transition {
  readonly subject: string;
  readonly from: HealthState;
  readonly to: HealthState;
  readonly consecutiveFailures: number;
}

/** One attempt in flight, as the reporter tracks it (to see slowness before the attempt ends). */
export interface InFlight {
  readonly startedMs: number;
}

/** What one process saw of one subject since its last flush. */
class Tally {
  sent = 0;
  ok = 0;
  failures = 0;
  durationSum = 0;
  lastError = '';
  delivered = 0;
  trailingFinalFailures = 0;
  readonly latency = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  readonly inFlight = new Set<InFlight>();
  dirty = false;
  /** When the first unflushed outcome was counted. */
  dirtySince = 0;
  /** The slowest attempt since the last flush (ms). */
  slowest = 0;

  touch(now: number): void {
    if (!this.dirty) this.dirtySince = now;
    this.dirty = true;
  }

  reset(): void {
    this.sent = 0;
    this.ok = 0;
    this.failures = 0;
    this.durationSum = 0;
    this.lastError = '';
    this.delivered = 0;
    this.trailingFinalFailures = 0;
    this.latency.fill(0);
    this.dirty = false;
    this.dirtySince = 0;
    this.slowest = 0;
  }
}

const MINUTE_MS = 60_000;
/** Minute stats outlive the 5-minute window they serve. */
const MINUTE_TTL_MS = 6 * MINUTE_MS;
/** Inline targets come and go: their health is forgotten a week after their last attempt. */
const INLINE_HEALTH_TTL_MS = 7 * 86_400_000;
/**
 * A healthy endpoint that only succeeded, fast, has nothing urgent to say: its counts go
 * to Redis this often, not every flush (thousands of busy endpoints would otherwise cost
 * Redis a script call each, five times a second, per worker).
 */
const QUIET_FLUSH_MS = 2000;

/**
 * Counts each attempt's outcome in memory and folds the counts into the shared state every
 * `flushMs` (one script call per active subject, pipelined), so the hot path does no Redis
 * I/O for health. Attempts still in flight past the slow threshold are reported too: a dead
 * endpoint is degraded after about SLOW_ENDPOINT_MS, not after its timeout.
 */
export class HealthReporter {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly policy: HealthPolicy;
  private readonly board: HealthBoard;
  private readonly tallies = new Map<string, Tally>();
  private readonly listeners: ((t: Transition) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;

  constructor(redis: RedisClient, keys: RedisKeys, policy: HealthPolicy, board: HealthBoard) {
    this.redis = redis;
    this.keys = keys;
    this.policy = policy;
    this.board = board;
  }

  onTransition(listener: (t: Transition) => void): void {
    this.listeners.push(listener);
  }

  private tally(subject: string): Tally {
    let t = this.tallies.get(subject);
    if (t === undefined) {
      t = new Tally();
      this.tallies.set(subject, t);
    }
    return t;
  }

  started(subject: string, startedMs: number): InFlight {
    const handle = { startedMs };
    this.tally(subject).inFlight.add(handle);
    return handle;
  }

  /** An attempt ended without telling anything about the subject's health. */
  abandoned(subject: string, handle: InFlight): void {
    this.tallies.get(subject)?.inFlight.delete(handle);
  }

  /** An attempt that sent a request ended (success or not). */
  finished(subject: string, handle: InFlight, ok: boolean, durationMs: number, errorClass: string | null): void {
    const t = this.tally(subject);
    t.inFlight.delete(handle);
    t.sent++;
    t.durationSum += durationMs;
    if (durationMs > t.slowest) t.slowest = durationMs;
    t.latency[latencyBucket(durationMs)]!++;
    if (ok) t.ok++;
    else {
      t.failures++;
      if (errorClass !== null) t.lastError = errorClass;
    }
    t.touch(Date.now());
  }

  /** A postback reached its final state (for the auto-disable streak). */
  final(subject: string, delivered: boolean): void {
    const t = this.tally(subject);
    if (delivered) {
      t.delivered++;
      t.trailingFinalFailures = 0;
    } else t.trailingFinalFailures++;
    t.touch(Date.now());
  }

  start(flushMs: number, onError: (err: unknown) => void): void {
    this.timer ??= setInterval(() => void this.flush().catch(onError), flushMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Wait for a flush under way, then send everything, quiet tallies included.
    await this.flushing;
    await this.doFlush(true);
  }

  /**
   * Sends what is due: every tally with news (failures, slowness, a state not healthy) and
   * quiet ones every QUIET_FLUSH_MS. One flush at a time (a flush asked for meanwhile follows).
   */
  async flush(): Promise<void> {
    if (this.flushing !== undefined) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
    if (this.flushAgain) {
      this.flushAgain = false;
      await this.flush();
    }
  }

  private async doFlush(all = false): Promise<void> {
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS);
    const { policy, keys } = this;
    const subjects: string[] = [];
    const calls: { keys: string[]; args: (string | number)[] }[] = [];
    for (const [subject, t] of this.tallies) {
      let oldest = 0;
      for (const f of t.inFlight) oldest = Math.max(oldest, now - f.startedMs);
      // In flight but not slow yet: nothing new to say.
      if (!t.dirty && oldest <= policy.slowMs) {
        if (t.inFlight.size === 0) this.tallies.delete(subject);
        continue;
      }
      const urgent =
        t.failures > 0 || t.trailingFinalFailures > 0 || t.slowest > policy.slowMs || oldest > policy.slowMs || this.board.stateOf(subject) !== 'healthy';
      if (!all && !urgent && now - t.dirtySince < QUIET_FLUSH_MS) continue;
      const inline = isInlineSubject(subject);
      const args: (string | number)[] = [
        now, subject, t.sent, t.ok, t.failures, t.durationSum, oldest, t.lastError,
        policy.openAfter, policy.degradeAfter, policy.slowMs, policy.probeIntervalMs, MINUTE_TTL_MS,
        t.delivered, t.trailingFinalFailures, inline ? 0 : policy.autoDisableAfter, policy.autoDisableWindowMs,
        inline ? INLINE_HEALTH_TTL_MS : 0, ...t.latency,
      ];
      t.reset();
      subjects.push(subject);
      calls.push({ keys: [keys.health(subject), keys.healthStates, keys.healthMinute(subject, minute), keys.probe(subject)], args });
    }
    if (calls.length === 0) return;
    const replies = await REPORT_HEALTH.runMany(this.redis, calls);
    // Every reply is applied before an error is raised: a transition saved in Redis is seen
    // (and alerted) only by the worker whose flush made it.
    let failed: Error | undefined;
    for (const [i, reply] of replies.entries()) {
      if (reply instanceof Error) {
        failed ??= reply;
        continue;
      }
      const subject = subjects[i]!;
      const [from, to, cf] = reply as [HealthState, HealthState, number];
      if (from === to) continue;
      this.board.set(subject, to);
      const transition = { subject, from, to, consecutiveFailures: Number(cf) };
      for (const l of this.listeners) l(transition);
    }
    if (failed !== undefined) throw failed;
  }
}
