import { ValidationError, describeValue } from '../errors/base-error.js';

/** Most shards QUEUE_SHARDS may ask for. */
export const MAX_QUEUE_SHARDS = 1024;

/**
 * Parses a shard list: `0-3`, `0,2,5`, or both (`0-2,7`). Entries must be integers in
 * [0, count); the result is sorted and without repeats. Errors name the variable and value.
 */
export function parseShardList(raw: string, name: string, count: number): number[] {
  const bad = (message: string): never => {
    throw new ValidationError(`${name}=${describeValue(raw)}: ${message}`, [{ path: name, message }]);
  };
  const out = new Set<number>();
  const entries = raw.split(',').map((s) => s.trim());
  if (entries.length === 0 || entries.some((e) => e === '')) bad('must be shard numbers or ranges, e.g. 0-3 or 0,2,5');
  for (const entry of entries) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(entry);
    if (m === null) return bad(`entry ${describeValue(entry)} must be a shard number or a range like 0-3`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) bad(`range ${describeValue(entry)} runs backwards`);
    if (to >= count) bad(`shard ${to} does not exist: QUEUE_SHARDS=${count} has shards 0 to ${count - 1}`);
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}
