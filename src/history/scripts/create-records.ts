import { LuaScript } from './run-script.js';

/**
 * KEYS[1] the time index, KEYS[2..] the new records; ARGV[1] their TTL (ms), then per
 * record: index score, postback id, n, and n hash field/value entries.
 * Writes every record (HSET + PEXPIRE) and its index entry: one command for a whole
 * produce call, atomic like the MULTI it replaces.
 */
export const CREATE_RECORDS = new LuaScript(`
local ttl = ARGV[1]
local p = 2
for i = 2, #KEYS do
  local score, id, n = ARGV[p], ARGV[p + 1], tonumber(ARGV[p + 2])
  p = p + 3
  redis.call('HSET', KEYS[i], unpack(ARGV, p, p + n - 1))
  p = p + n
  redis.call('PEXPIRE', KEYS[i], ttl)
  redis.call('ZADD', KEYS[1], score, id)
end
return #KEYS - 1
`);
