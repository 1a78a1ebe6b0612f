import { F } from '../postback-record.js';
import { LuaScript } from './run-script.js';

/** CREATE_RECORDS' reply when the outbox is full: nothing was written. */
export const OUTBOX_FULL = -1;

/**
 * KEYS[1] the time index, KEYS[2] the outbox, KEYS[3..] the new records; ARGV[1] their TTL
 * (ms), ARGV[2..4] the outbox arguments (on, most entries, final grace), then per record:
 * index score, postback id, ordering chain key ('' for none), n, and n hash field/value
 * entries.
 * Writes every record (HSET + PEXPIRE) and its index entry, and appends an ordered
 * endpoint's postback to its chain (see chain.ts; the chain lives as long as a record at
 * most): one command for a whole produce call, atomic like the MULTI it replaces. With the outbox on, a new record is not
 * snapshotted yet (most are final within milliseconds, and then go to PostgreSQL as one
 * row written once; SWEEP_QUEUED snapshots those still queued later), and with the outbox
 * full it writes nothing and returns OUTBOX_FULL. Else it returns the ids that joined an
 * ordering chain behind another postback: the others have their key's turn from the start.
 */
export const CREATE_RECORDS = new LuaScript(`
local ttl = ARGV[1]
if ARGV[2] == '1' and redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[3]) then return ${OUTBOX_FULL} end
local p = 5
local behind = {}
for i = 3, #KEYS do
  local score, id, chain, n = ARGV[p], ARGV[p + 1], ARGV[p + 2], tonumber(ARGV[p + 3])
  p = p + 4
  redis.call('HSET', KEYS[i], unpack(ARGV, p, p + n - 1))
  p = p + n
  redis.call('PEXPIRE', KEYS[i], ttl)
  redis.call('ZADD', KEYS[1], score, id)
  if chain ~= '' then
    if redis.call('RPUSH', chain, id) > 1 then behind[#behind + 1] = id end
    redis.call('PEXPIRE', chain, ttl)
  end
end
return behind
`);

/**
 * KEYS[1] the outbox, KEYS[2..] records; ARGV the postback ids. Snapshots each record that
 * is still `queued` (no attempt yet: a delayed postback, a backlog) into the outbox, so
 * PostgreSQL lists show it before its first attempt. Returns how many it snapshotted.
 */
export const SWEEP_QUEUED = new LuaScript(`
local n = 0
for i = 2, #KEYS do
  if redis.call('HGET', KEYS[i], '${F.status}') == 'queued' then
    redis.call('XADD', KEYS[1], '*', '_', ARGV[i - 1], unpack(redis.call('HGETALL', KEYS[i])))
    n = n + 1
  end
end
return n
`);
