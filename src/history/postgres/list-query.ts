import { ValidationError, describeValue } from '../../errors/base-error.js';
import type { PostbackFilter } from '../query-postbacks.js';
import { idFloor } from './day-partitions.js';
import { STATUS_CODE, quoteIdent } from './schema.js';

/** The columns a list row needs (not the attempts, the replay request or the next time). */
export const SUMMARY_COLUMNS = 'id, endpoint_id, publisher_id, event_id, status, attempts, http_status, finished_ms, last_error, url, d';

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId).toString('base64url');
}

export function decodeCursor(text: string): string {
  const id = Buffer.from(text, 'base64url').toString('utf8');
  if (!/^[a-z0-9]{1,64}$/.test(id)) {
    throw new ValidationError(`cursor ${describeValue(text)} is not one this API returned`, [{ path: 'cursor', message: 'invalid cursor' }]);
  }
  return id;
}

/**
 * One page newest first, as keyset pagination on the id (creation order): a time range is
 * an id range, so it prunes partitions, and every filter is an index prefix
 * (postbacks_endpoint, postbacks_unsettled, postbacks_publisher, postbacks_event).
 * Asks for one row more than `limit` to know whether a next page exists.
 */
export function listQuery(schema: string, filter: PostbackFilter, limit: number, afterId: string | undefined): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: (p: string) => string, v: unknown): void => {
    values.push(v);
    where.push(sql(`$${values.length}`));
  };
  if (filter.fromMs !== undefined) add((p) => `id >= ${p}`, idFloor(filter.fromMs));
  if (filter.toMs !== undefined) add((p) => `id < ${p}`, idFloor(filter.toMs + 1));
  if (afterId !== undefined) add((p) => `id < ${p}`, afterId);
  // A literal, from the fixed enum: the planner then sees it implies the partial index's predicate.
  if (filter.status !== undefined) where.push(`status = '${STATUS_CODE[filter.status]}'`);
  if (filter.endpointId !== undefined) add((p) => `endpoint_id = ${p}`, filter.endpointId);
  if (filter.publisherId !== undefined) add((p) => `publisher_id = ${p}`, filter.publisherId);
  if (filter.eventId !== undefined) add((p) => `event_id = ${p}`, filter.eventId);
  values.push(limit + 1);
  const text = `SELECT ${SUMMARY_COLUMNS} FROM ${quoteIdent(schema)}.postbacks${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.length}`;
  return { text, values };
}
