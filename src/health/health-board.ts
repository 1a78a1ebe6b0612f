import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { laneOf, type HealthState, type Lane } from './health-state.js';

/**
 * Every process's view of the shared health states: one HGETALL of the (small) hash of
 * subjects that are not healthy, refreshed at most every `maxAgeMs`. Producers use it to
 * pick a lane, workers to gate attempts; a worker's own transitions apply at once.
 */
export class HealthBoard {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly maxAgeMs: number;
  private states = new Map<string, HealthState>();
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(redis: RedisClient, keys: RedisKeys, maxAgeMs = 500) {
    this.redis = redis;
    this.keys = keys;
    this.maxAgeMs = maxAgeMs;
  }

  stateOf(subject: string): HealthState {
    return this.states.get(subject) ?? 'healthy';
  }

  laneOf(subject: string): Lane {
    return laneOf(this.stateOf(subject));
  }

  /** Applies a transition this process saw, before the next refresh brings it. */
  set(subject: string, state: HealthState): void {
    if (state === 'healthy') this.states.delete(subject);
    else this.states.set(subject, state);
  }

  /** Re-reads the states when the view is older than maxAgeMs; concurrent callers share one read. */
  async refreshIfStale(): Promise<void> {
    if (Date.now() - this.refreshedAt < this.maxAgeMs) return;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const all = await this.redis.hgetall(this.keys.healthStates);
        const next = new Map<string, HealthState>();
        for (const [subject, state] of Object.entries(all)) next.set(subject, state as HealthState);
        this.states = next;
        this.refreshedAt = Date.now();
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Refreshes in the background every maxAgeMs (workers); errors go to `onError`. */
  start(onError: (err: unknown) => void): void {
    this.timer ??= setInterval(() => void this.refresh().catch(onError), this.maxAgeMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
