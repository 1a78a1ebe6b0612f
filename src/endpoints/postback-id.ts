import { randomBytes } from 'node:crypto';

/** Time-ordered, URL-safe postback ids: 9 chars of base36 milliseconds + 12 hex random. */
export function newPostbackId(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}
