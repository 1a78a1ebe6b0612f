import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';

/**
 * Takes the one probe of an open circuit: SET NX with a TTL that outlasts the attempt and
 * then spaces the next probe. Nobody releases it after a failed probe (that TTL is the
 * spacing); a successful one closes the circuit, which deletes it. A worker killed while
 * probing leaves a key that expires: the circuit is never stuck open.
 */
export async function tryProbe(redis: RedisClient, keys: RedisKeys, subject: string, attemptMs: number, intervalMs: number): Promise<boolean> {
  const res = await redis.set(keys.probe(subject), 'probing', 'PX', attemptMs + intervalMs, 'NX');
  return res === 'OK';
}
