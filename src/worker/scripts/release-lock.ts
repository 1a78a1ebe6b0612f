import { LuaScript } from '../../history/scripts/run-script.js';

/**
 * KEYS[1] a lock taken with `SET key token NX PX ttl`; ARGV[1] the holder's token.
 * Deletes the lock only while it still holds that token: a holder whose lock lapsed and
 * was taken by another process does not release the other's.
 * Returns 1 when released, 0 when the lock was gone or another's.
 */
export const RELEASE_LOCK = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
