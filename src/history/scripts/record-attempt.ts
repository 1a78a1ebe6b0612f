import { F } from '../postback-record.js';
import { LuaScript } from './run-script.js';

/** Lua string literals of the record's field names, from the one table in postback-record.ts. */
const f = (name: string): string => `'${name}'`;

/** ARGV entries per record of RECORD_ATTEMPTS. */
export const RECORD_ATTEMPT_ARGS = 8;

/**
 * KEYS: records; ARGV, 8 per record: attempt field, attempt JSON, count, status, http
 * status, finished ms ('' while retrying), next attempt ms (''), last error ('').
 * Writes only into a record that exists: a record that expired (retention shorter than
 * the schedule) is not brought back as a key without TTL or static data.
 * A final record is never written over: a second run of the same postback (a batch run
 * again while its item's own job finished) must not turn `delivered` back into anything.
 * Returns, per record, 1 when written, 0 when the record is gone, 2 when it was already
 * final. One call for many
 * records (a batch's outcomes): one command on the wire, not one per postback.
 */
export const RECORD_ATTEMPTS = new LuaScript(`
local out = {}
for i = 1, #KEYS do
  local a = (i - 1) * ${RECORD_ATTEMPT_ARGS}
  local s = redis.call('HGET', KEYS[i], ${f(F.status)})
  if not s then
    out[i] = 0
  elseif s == 'delivered' or s == 'failed' then
    out[i] = 2
  else
    redis.call('HSET', KEYS[i], ARGV[a + 1], ARGV[a + 2], ${f(F.count)}, ARGV[a + 3], ${f(F.status)}, ARGV[a + 4], ${f(F.http)}, ARGV[a + 5], ${f(F.finished)}, ARGV[a + 6], ${f(F.next)}, ARGV[a + 7], ${f(F.lastError)}, ARGV[a + 8])
    out[i] = 1
  end
end
return out
`);

/**
 * KEYS[1] the record; ARGV: finished ms, error class.
 * Marks a record failed unless it is already final (delivered or failed). For jobs that
 * BullMQ fails on its own (stalled too often) or whose attempt could not be recorded.
 */
export const MARK_FAILED = new LuaScript(`
local s = redis.call('HGET', KEYS[1], ${f(F.status)})
if not s or s == 'delivered' or s == 'failed' then return 0 end
redis.call('HSET', KEYS[1], ${f(F.status)}, 'failed', ${f(F.finished)}, ARGV[1], ${f(F.next)}, '', ${f(F.lastError)}, ARGV[2])
return 1
`);
