import type { RedisClient } from '../redis/connection.js';
import { ValidationError } from '../errors/base-error.js';
import type { RedisKeys } from '../redis/keys.js';

/** One change, as the audit log keeps it. */
export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  /** Who: `operator:<key fingerprint>`, `operator:open` (keyless loopback server), `publisher:<key id>`, `cli`. */
  readonly actor: string;
  /** What: endpoint.put, endpoint.delete, endpoint.enable, endpoint.disable, endpoint.test, key.create, key.revoke, postback.replay, postbacks.replay. */
  readonly action: string;
  /** What it was done to: an endpoint id, a key id, a postback id, a filter. */
  readonly target: string;
  readonly publisher_id?: string;
}

/** Entries kept (oldest trimmed first). */
const MAX_ENTRIES = 1_000_000;

/**
 * Every endpoint change, key change and replay: who, what, when. A Redis stream, newest
 * read first, readable by operators (GET /v1/audit). It never holds a secret: targets are
 * ids and filters.
 */
export class AuditLog {
  private readonly redis: RedisClient;
  private readonly key: string;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.redis = redis;
    this.key = keys.audit;
  }

  async append(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    const fields = ['actor', entry.actor, 'action', entry.action, 'target', entry.target];
    if (entry.publisher_id !== undefined) fields.push('publisher_id', entry.publisher_id);
    await this.redis.xadd(this.key, 'MAXLEN', '~', MAX_ENTRIES, '*', ...fields);
  }

  /** Newest first; `cursor` is the last id of the previous page. */
  async list(limit: number, cursor?: string): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
    if (cursor !== undefined && !/^\d+-\d+$/.test(cursor)) {
      throw new ValidationError(`cursor must be one returned as next_cursor, got ${JSON.stringify(cursor).slice(0, 80)}`, [{ path: 'cursor', message: 'invalid' }]);
    }
    const end = cursor === undefined ? '+' : `(${cursor}`;
    const rows = await this.redis.xrevrange(this.key, end, '-', 'COUNT', limit + 1);
    const items = rows.slice(0, limit).map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      return {
        id,
        at: new Date(Number(id.split('-', 1)[0])).toISOString(),
        actor: f.actor ?? '',
        action: f.action ?? '',
        target: f.target ?? '',
        ...(f.publisher_id !== undefined ? { publisher_id: f.publisher_id } : {}),
      };
    });
    return { items, next_cursor: rows.length > limit ? items.at(-1)!.id : null };
  }
}
