import { UnavailableError } from '../errors/base-error.js';
import { isRedisUnavailable } from './redis-unavailable.js';

/**
 * Runs a Redis step of a request: Redis being unreachable becomes UnavailableError (the API
 * answers 503: nothing was accepted); anything else, a bug included, goes on as it is.
 */
export async function guardRedis<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isRedisUnavailable(err)) throw new UnavailableError(`Redis unavailable: ${(err as Error).message}`);
    throw err;
  }
}
