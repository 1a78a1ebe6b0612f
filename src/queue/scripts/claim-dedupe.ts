import { LuaScript } from '../../history/scripts/run-script.js';

/**
 * KEYS: dedupe keys; ARGV[1] their TTL (ms). SET NX PX each; returns, per key, 1 when
 * claimed now, 0 when already held (a duplicate). One command for a whole produce call.
 */
export const CLAIM_DEDUPE = new LuaScript(`
local out = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'PX', ARGV[1], 'NX') then out[i] = 1 else out[i] = 0 end
end
return out
`);
