import { randomFillSync } from 'node:crypto';

/** Random bytes drawn ahead, 6 per id: one call to the CSPRNG per 1024 ids, not one each. */
const POOL = Buffer.alloc(6 * 1024);
let offset = POOL.length;
const RANDOM_SPAN = 2 ** 48;

let lastMs = -1;
let lastRandom = 0;

/**
 * Time-ordered, URL-safe postback ids: 9 chars of base36 milliseconds + 12 hex random.
 * Within one millisecond a process's ids count up from the first one's random part (as
 * monotonic ULIDs do), so id order is creation order here too: PostgreSQL history orders
 * and pages by id alone.
 */
export function newPostbackId(nowMs: number = Date.now()): string {
  let random: number;
  if (nowMs === lastMs && lastRandom + 1 < RANDOM_SPAN) {
    random = ++lastRandom;
  } else {
    if (offset === POOL.length) {
      randomFillSync(POOL);
      offset = 0;
    }
    // The top bit left clear: a millisecond's ids never run out of room to count up.
    random = POOL.readUIntBE(offset, 6) % (RANDOM_SPAN / 2);
    offset += 6;
    lastMs = nowMs;
    lastRandom = random;
  }
  return `${nowMs.toString(36).padStart(9, '0')}${random.toString(16).padStart(12, '0')}`;
}
