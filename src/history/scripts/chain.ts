import { F } from '../postback-record.js';
import { LuaScript } from './run-script.js';

/**
 * Ordering (SPEC: Ordering). The postbacks of an ordered endpoint that render the same
 * ordering key form a chain: a Redis list of their ids in enqueue order, named in each
 * member's record (field `k`). The first pending member has the turn; a member is removed
 * when it is final (RELEASE, in the scripts that make a record final), and the list is
 * gone with its last member. A member whose record is final or gone (expired, an undone
 * enqueue) is dropped by whoever reads the chain next, so a crash never blocks a key.
 *
 * The chain key is read from the record, not passed in KEYS: it is built with the same
 * prefix (hash tag) as the record, so both live in one Redis Cluster slot.
 */
const CHAIN_FUNCTIONS = `
local function pending_head(chain, record_prefix, self)
  for _ = 1, 1000 do
    local head = redis.call('LINDEX', chain, 0)
    if not head or head == self then return head end
    local s = redis.call('HGET', record_prefix .. head, '${F.status}')
    if s and s ~= 'delivered' and s ~= 'failed' then return head end
    redis.call('LPOP', chain)
  end
  return nil
end
local function record_prefix(key, id)
  return string.sub(key, 1, #key - #id)
end
local function release(key, id, chain, waiting)
  if not chain then return nil end
  redis.call('LREM', chain, 1, id)
  if waiting then redis.call('HDEL', key, '${F.waiting}') end
  return pending_head(chain, record_prefix(key, id), nil)
end
`;

/**
 * Lua for scripts that make a record final: `release(key, id, chain, waiting)` (the record's
 * `k` and `w` fields, read with its status) leaves the chain and returns the next member
 * with the turn (or nil).
 */
export const RELEASE_CHAIN = CHAIN_FUNCTIONS;

/**
 * KEYS the records of postbacks about to make their first attempt; ARGV their ids.
 * Per record two replies: '' and '' when it has the turn (the first pending member of its
 * chain, or in no chain); else the id of the member it waits for, and that member's next
 * attempt time (ms, '' when unknown). Writes `w` (waiting for) into a waiting record and
 * clears it from one that has the turn.
 */
export const TAKE_TURNS = new LuaScript(`${CHAIN_FUNCTIONS}
local out = {}
for i = 1, #KEYS do
  local id = ARGV[i]
  local fields = redis.call('HMGET', KEYS[i], '${F.chain}', '${F.waiting}')
  local head = nil
  if fields[1] then
    local prefix = record_prefix(KEYS[i], id)
    head = pending_head(fields[1], prefix, id)
    if head == id then head = nil end
    if head then
      if head ~= fields[2] then redis.call('HSET', KEYS[i], '${F.waiting}', head) end
      out[#out + 1] = head
      out[#out + 1] = redis.call('HGET', prefix .. head, '${F.next}') or ''
    elseif fields[2] then
      redis.call('HDEL', KEYS[i], '${F.waiting}')
    end
  end
  if not head then
    out[#out + 1] = ''
    out[#out + 1] = ''
  end
end
return out
`);
