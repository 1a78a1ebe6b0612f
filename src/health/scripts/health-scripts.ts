import { LuaScript } from '../../history/scripts/run-script.js';

/**
 * Health hash fields (KEYS[1] of the scripts below): st state, since (ms), cf consecutive
 * failed attempts, lat latency EWMA (ms), le last error class, lea its time, lsa last
 * success time, ff consecutive final failures, ffs when that streak began, dat / dr when
 * and why the endpoint was disabled.
 */

/**
 * Folds one worker's tally for one subject into the shared state and moves the state
 * machine, atomically, so N workers agree on one state.
 * KEYS: 1 health hash, 2 states hash (subject -> state, absent = healthy), 3 this minute's
 * stats hash, 4 probe key.
 * ARGV: 1 now ms, 2 subject, 3 attempts sent, 4 successes, 5 failures, 6 summed duration ms, 7 age ms of the oldest
 * attempt still in flight (0: none), 8 last error class (''), 9 open after N consecutive
 * failures, 10 degrade after N, 11 slow ms, 12 probe interval ms, 13 minute stats TTL ms,
 * 14 finals delivered, 15 final failures after the last delivered, 16 auto-disable after N
 * (0: never), 17 its window ms, 18 health hash TTL ms (0: none), 19.. latency histogram.
 * Returns {previous state, state, consecutive failures}.
 */
export const REPORT_HEALTH = new LuaScript(`
local now = tonumber(ARGV[1])
local h = KEYS[1]
-- The states hash speaks for a subject whose own hash expired (an inline target idle a week).
local prev = redis.call('HGET', h, 'st') or redis.call('HGET', KEYS[2], ARGV[2]) or 'healthy'
local st = prev
local sent = tonumber(ARGV[3])
local ok = tonumber(ARGV[4])
local failed = tonumber(ARGV[5])
local cf = tonumber(redis.call('HGET', h, 'cf') or '0')
-- Many attempts run at once, so "consecutive" is per tally: a tally that mostly succeeded
-- resets the streak; one that mostly failed adds all its failures to it.
if ok > 0 and failed <= ok then cf = 0 else cf = cf + failed end
local lat = tonumber(redis.call('HGET', h, 'lat') or '-1')
if sent > 0 then
  local avg = tonumber(ARGV[6]) / sent
  if lat < 0 then lat = avg else lat = lat * 0.7 + avg * 0.3 end
end
local slowMs = tonumber(ARGV[11])
local inflightAge = tonumber(ARGV[7])
local slow = lat > slowMs or inflightAge > slowMs
if st ~= 'disabled' then
  if st == 'open' then
    if ok > 0 then
      if slow then st = 'degraded' else st = 'healthy' end
    end
  elseif cf >= tonumber(ARGV[9]) then
    st = 'open'
  elseif cf >= tonumber(ARGV[10]) or slow then
    st = 'degraded'
  elseif st == 'degraded' and ok > 0 and lat < slowMs / 2 and inflightAge < slowMs / 2 then
    st = 'healthy'
  end
end
redis.call('HSET', h, 'cf', cf, 'lat', lat)
if ARGV[8] ~= '' then redis.call('HSET', h, 'le', ARGV[8], 'lea', now) end
if ok > 0 then redis.call('HSET', h, 'lsa', now) end
local delivered = tonumber(ARGV[14])
local finalFailed = tonumber(ARGV[15])
if delivered > 0 or finalFailed > 0 then
  local ff = tonumber(redis.call('HGET', h, 'ff') or '0')
  local ffs = tonumber(redis.call('HGET', h, 'ffs') or '0')
  if delivered > 0 then ff = 0 end
  if finalFailed > 0 then
    if ff == 0 or now - ffs > tonumber(ARGV[17]) then ff = 0; ffs = now end
    ff = ff + finalFailed
  end
  redis.call('HSET', h, 'ff', ff, 'ffs', ffs)
  local n = tonumber(ARGV[16])
  if n > 0 and ff >= n and st ~= 'disabled' then
    st = 'disabled'
    redis.call('HSET', h, 'dat', now, 'dr', 'auto: ' .. ff .. ' consecutive final failures')
  end
end
if st ~= prev then
  redis.call('HSET', h, 'st', st, 'since', now)
  if st == 'healthy' then redis.call('HDEL', KEYS[2], ARGV[2]) else redis.call('HSET', KEYS[2], ARGV[2], st) end
  if st == 'open' then
    redis.call('SET', KEYS[4], 'cooling', 'PX', ARGV[12])
  elseif prev == 'open' then
    redis.call('DEL', KEYS[4])
  end
end
if tonumber(ARGV[18]) > 0 then redis.call('PEXPIRE', h, ARGV[18]) end
if sent > 0 then
  local m = KEYS[3]
  redis.call('HINCRBY', m, 'a', sent)
  if ok > 0 then redis.call('HINCRBY', m, 's', ok) end
  for i = 19, #ARGV do
    local c = tonumber(ARGV[i])
    if c > 0 then redis.call('HINCRBY', m, 'l' .. (i - 19), c) end
  end
  redis.call('PEXPIRE', m, ARGV[13])
end
return {prev, st, cf}
`);

/**
 * Disables a subject (operator or auto). KEYS: 1 health hash, 2 states hash.
 * ARGV: 1 now ms, 2 subject, 3 reason. Returns the previous state.
 */
export const DISABLE = new LuaScript(`
local prev = redis.call('HGET', KEYS[1], 'st') or 'healthy'
redis.call('HSET', KEYS[1], 'st', 'disabled', 'since', ARGV[1], 'dat', ARGV[1], 'dr', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], 'disabled')
return prev
`);

/**
 * Enables a subject again, with a clean slate: healthy, no failure streaks, no latency
 * history, no probe.
 * KEYS: 1 health hash, 2 states hash, 3 probe key. ARGV: 1 now ms, 2 subject.
 * Returns the previous state.
 */
export const ENABLE = new LuaScript(`
local prev = redis.call('HGET', KEYS[1], 'st') or 'healthy'
redis.call('HSET', KEYS[1], 'st', 'healthy', 'since', ARGV[1], 'cf', 0, 'ff', 0, 'ffs', 0, 'lat', -1)
redis.call('HDEL', KEYS[1], 'dat', 'dr')
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
return prev
`);
