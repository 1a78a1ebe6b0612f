import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import type { HealthState } from './health-state.js';
import { DISABLE, ENABLE } from './scripts/health-scripts.js';

/** Disables an endpoint: new events skip it (`disabled`), pending postbacks end failed (`disabled`). */
export async function disableEndpoint(redis: RedisClient, keys: RedisKeys, id: string, reason: string, nowMs = Date.now()): Promise<HealthState> {
  return (await DISABLE.run(redis, [keys.health(id), keys.healthStates], [nowMs, id, reason])) as HealthState;
}

/** Enables an endpoint again, healthy, with its failure streaks and probe cleared. */
export async function enableEndpoint(redis: RedisClient, keys: RedisKeys, id: string, nowMs = Date.now()): Promise<HealthState> {
  return (await ENABLE.run(redis, [keys.health(id), keys.healthStates, keys.probe(id)], [nowMs, id])) as HealthState;
}
