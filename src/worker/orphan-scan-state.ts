import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import type { IndexPosition } from '../history/find-orphans.js';
import type { RedisKeys } from '../redis/keys.js';
import { RELEASE_LOCK } from './scripts/release-lock.js';

/**
 * What the orphan reconcilers of all workers share in Redis: a run lock (`SET NX PX`, one
 * run at a time across workers) and the scan position in the time index. Each run goes on
 * where the last one stopped, whichever worker made it, so N workers read the index once
 * between them rather than N times, and a restarted worker does not scan it again.
 */
export class OrphanScanState {
  private readonly redis: RedisClient;
  private readonly lockKey: string;
  private readonly positionKey: string;
  /** This instance's lock token: it only ever releases its own lock. */
  private readonly token = randomBytes(8).toString('hex');

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.redis = redis;
    this.lockKey = keys.orphansLock;
    this.positionKey = keys.orphansPosition;
  }

  /** Takes the run lock for at most `ttlMs` (it lapses if this process dies mid-run). */
  async tryLock(ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.lockKey, this.token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(): Promise<void> {
    await RELEASE_LOCK.run(this.redis, [this.lockKey], [this.token]);
  }

  /** Where the last run stopped, or undefined (never ran, or not for longer than the key's TTL). */
  async readPosition(): Promise<IndexPosition | undefined> {
    const text = await this.redis.get(this.positionKey);
    const [score, offset] = (text ?? '').split(':').map(Number);
    if (score === undefined || offset === undefined || !Number.isFinite(score) || !Number.isInteger(offset) || offset < 0) return undefined;
    return { score, offset };
  }

  async savePosition(position: IndexPosition, ttlMs: number): Promise<void> {
    await this.redis.set(this.positionKey, `${position.score}:${position.offset}`, 'PX', ttlMs);
  }
}
