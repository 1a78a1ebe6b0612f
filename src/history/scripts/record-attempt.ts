import { F } from '../postback-record.js';
import { LuaScript } from './run-script.js';

/** Lua string literals of the record's field names, from the one table in postback-record.ts. */
const f = (name: string): string => `'${name}'`;

/**
 * KEYS[1] the record; ARGV: attempt field, attempt JSON, count, status, http status,
 * finished ms ('' while retrying), next attempt ms (''), last error ('').
 * Writes only into a record that exists: a record that expired (retention shorter than
 * the schedule) is not brought back as a key without TTL or static data.
 * Returns 1 when written, 0 when the record is gone.
 */
export const RECORD_ATTEMPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ${f(F.count)}, ARGV[3], ${f(F.status)}, ARGV[4], ${f(F.http)}, ARGV[5], ${f(F.finished)}, ARGV[6], ${f(F.next)}, ARGV[7], ${f(F.lastError)}, ARGV[8])
return 1
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
