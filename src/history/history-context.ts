import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';

/** What every history operation needs; built once per process and passed first. */
export interface HistoryContext {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly retentionMs: number;
}
