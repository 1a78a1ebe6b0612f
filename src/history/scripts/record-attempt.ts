import { F } from '../postback-record.js';
import { RELEASE_CHAIN } from './chain.js';
import { LuaScript } from './run-script.js';

/** Lua string literals of the record's field names, from the one table in postback-record.ts. */
const f = (name: string): string => `'${name}'`;

/** ARGV entries per record of RECORD_ATTEMPTS. */
export const RECORD_ATTEMPT_ARGS = 10;

/**
 * After a record changed: with the outbox on (ARGV[1] = '1'), its whole hash goes there as
 * a snapshot (PostgreSQL upserts it, so a snapshot stands alone), and a final record leaves
 * the pending index (KEYS[2]) and is kept only for the grace (ARGV[3] ms).
 */
const MIRROR = `
local function mirror(key, id, final)
  if ARGV[1] ~= '1' then return end
  redis.call('XADD', KEYS[1], '*', '_', id, unpack(redis.call('HGETALL', key)))
  if final then
    redis.call('ZREM', KEYS[2], id)
    redis.call('PEXPIRE', key, ARGV[3])
  end
end
`;

/**
 * KEYS[1] the outbox, KEYS[2] the time index, KEYS[3..] records; ARGV[1..3] the outbox
 * arguments (on, most entries, final grace), then 10 per record: postback id, attempt
 * field, attempt JSON, count, status, http status, finished ms ('' while retrying), next
 * attempt ms (''), last error (''), the batch job that holds its next attempt ('': the
 * field is left as it is; written with the attempt, so no scan sees one without the other).
 * Writes only into a record that exists: a record that expired (retention shorter than
 * the schedule) is not brought back as a key without TTL or static data.
 * A final record is never written over: a second run of the same postback (a batch run
 * again while its item's own job finished) must not turn `delivered` back into anything.
 * A record made final leaves its ordering chain (see chain.ts).
 * Returns, per record, 1 when written, 0 when the record is gone, 2 when it was already
 * final, and, when written final and an ordering chain's next member now has the turn, that
 * member's id. One call for many records (a batch's outcomes): one command on the wire, not
 * one per postback.
 */
export const RECORD_ATTEMPTS = new LuaScript(`${MIRROR}${RELEASE_CHAIN}
local out = {}
for i = 3, #KEYS do
  local a = 3 + (i - 3) * ${RECORD_ATTEMPT_ARGS}
  local rec = redis.call('HMGET', KEYS[i], ${f(F.status)}, ${f(F.chain)}, ${f(F.waiting)})
  local s = rec[1]
  if not s then
    out[i - 2] = 0
  elseif s == 'delivered' or s == 'failed' then
    out[i - 2] = 2
  else
    local status = ARGV[a + 5]
    local final = status == 'delivered' or status == 'failed'
    redis.call('HSET', KEYS[i], ARGV[a + 2], ARGV[a + 3], ${f(F.count)}, ARGV[a + 4], ${f(F.status)}, status, ${f(F.http)}, ARGV[a + 6], ${f(F.finished)}, ARGV[a + 7], ${f(F.next)}, ARGV[a + 8], ${f(F.lastError)}, ARGV[a + 9])
    if ARGV[a + 10] ~= '' then redis.call('HSET', KEYS[i], ${f(F.batch)}, ARGV[a + 10]) end
    local next_turn = final and release(KEYS[i], ARGV[a + 1], rec[2], rec[3]) or nil
    mirror(KEYS[i], ARGV[a + 1], final)
    out[i - 2] = next_turn or 1
  end
end
return out
`);

/**
 * KEYS[1] the outbox, KEYS[2] the time index, KEYS[3] the record; ARGV[1..3] the outbox
 * arguments, ARGV[4] the postback id, ARGV[5] finished ms, ARGV[6] error class.
 * Marks a record failed unless it is already final (delivered or failed). For jobs that
 * BullMQ fails on its own (stalled too often) or whose attempt could not be recorded.
 * It leaves its ordering chain; the next member finds the turn when it next looks.
 */
export const MARK_FAILED = new LuaScript(`${MIRROR}${RELEASE_CHAIN}
local rec = redis.call('HMGET', KEYS[3], ${f(F.status)}, ${f(F.chain)}, ${f(F.waiting)})
local s = rec[1]
if not s or s == 'delivered' or s == 'failed' then return 0 end
redis.call('HSET', KEYS[3], ${f(F.status)}, 'failed', ${f(F.finished)}, ARGV[5], ${f(F.next)}, '', ${f(F.lastError)}, ARGV[6])
release(KEYS[3], ARGV[4], rec[2], rec[3])
mirror(KEYS[3], ARGV[4], true)
return 1
`);
