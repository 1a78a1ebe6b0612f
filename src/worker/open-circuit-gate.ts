import type { HealthPolicy } from '../health/health-policy.js';
import { tryProbe } from '../health/probe-lock.js';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';

/** How an attempt due while its endpoint's circuit is open is sent; undefined: it is not (circuit_open). */
export interface OpenCircuitSend {
  /** `ceiling`: a postback's last chance, within the origin's hard ceiling; `force`: the probe. */
  readonly mode: 'ceiling' | 'force';
  readonly probing: boolean;
}

const LAST_CHANCE: OpenCircuitSend = { mode: 'ceiling', probing: false };
const PROBE: OpenCircuitSend = { mode: 'force', probing: true };

/**
 * Decides, for an attempt due while its endpoint's circuit is open, whether it goes out:
 * a postback's last attempt when nothing was ever sent for it (none fails without one real
 * request), or the one probe (a lock in Redis, shared by every worker); else it is recorded
 * `circuit_open`. One per lane, shared by its lone jobs and batches, so that the hint that
 * another worker holds the probe saves Redis a question per attempt.
 */
export class OpenCircuitGate {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly policy: HealthPolicy;
  private readonly takenUntil = new Map<string, number>();

  constructor(redis: RedisClient, keys: RedisKeys, policy: HealthPolicy) {
    this.redis = redis;
    this.keys = keys;
    this.policy = policy;
  }

  async decide(subject: string, attemptMs: number, lastChance: boolean): Promise<OpenCircuitSend | undefined> {
    if (lastChance) return LAST_CHANCE;
    if (!this.mayTry(subject)) return undefined;
    if (await tryProbe(this.redis, this.keys, subject, attemptMs, this.policy.probeIntervalMs)) return PROBE;
    // Another worker holds the probe: do not ask again for a moment.
    this.takenUntil.set(subject, Date.now() + PROBE_HINT_MS);
    return undefined;
  }

  private mayTry(subject: string): boolean {
    const until = this.takenUntil.get(subject);
    if (until === undefined) return true;
    if (until > Date.now()) return false;
    this.takenUntil.delete(subject);
    return true;
  }
}
const PROBE_HINT_MS = 100;
