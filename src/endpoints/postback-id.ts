import { randomFillSync } from 'node:crypto';

/** Random bytes drawn ahead, 6 per id: one call to the CSPRNG per 1024 ids, not one each. */
const POOL = Buffer.alloc(6 * 1024);
let offset = POOL.length;

/** Time-ordered, URL-safe postback ids: 9 chars of base36 milliseconds + 12 hex random. */
export function newPostbackId(nowMs: number = Date.now()): string {
  if (offset === POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const random = POOL.toString('hex', offset, offset + 6);
  offset += 6;
  return `${nowMs.toString(36).padStart(9, '0')}${random}`;
}
