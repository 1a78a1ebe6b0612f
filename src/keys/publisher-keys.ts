import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { NotFoundError, ValidationError } from '../errors/base-error.js';
import type { RedisKeys } from '../redis/keys.js';

/** A publisher key as listed: never the key itself, which is shown once, when made. */
export interface PublisherKey {
  readonly id: string;
  readonly publisher_id: string;
  readonly name: string;
  readonly created_at: string;
}

/** What a key's holder is, once its digest is found. */
export interface KeyOwner {
  readonly keyId: string;
  readonly publisherId: string;
}

const PREFIX = 'pbk_';
const REF = /^[A-Za-z0-9._~:@-]{1,128}$/;

/** SHA-256 of a key: what is stored, and how a presented key is looked up. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Publisher keys in Redis: `keys` (id -> the listed fields and the key's digest) and
 * `keyDigests` (digest -> id), so a presented key is found with one HGET and the key
 * itself is never stored. Made by operators through the API or the CLI.
 */
export class PublisherKeys {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** Makes a key for a publisher; the returned `key` is the only time it is seen. */
  async create(input: { publisher_id?: unknown; name?: unknown }): Promise<PublisherKey & { key: string }> {
    const publisherId = input.publisher_id;
    if (typeof publisherId !== 'string' || !REF.test(publisherId)) {
      throw new ValidationError(`publisher_id must be 1-128 chars of A-Za-z0-9._~:@-, got ${JSON.stringify(publisherId)}`, [
        { path: 'publisher_id', message: 'must be 1-128 chars of A-Za-z0-9._~:@-' },
      ]);
    }
    const name = input.name ?? '';
    if (typeof name !== 'string' || name.length > 200) {
      throw new ValidationError(`name must be a string of at most 200 characters, got ${JSON.stringify(name).slice(0, 80)}`, [
        { path: 'name', message: 'must be a string of at most 200 characters' },
      ]);
    }
    const id = randomBytes(6).toString('hex');
    const key = `${PREFIX}${randomBytes(24).toString('base64url')}`;
    const listed: PublisherKey = { id, publisher_id: publisherId, name, created_at: new Date().toISOString() };
    const digest = keyDigest(key);
    await this.redis
      .multi()
      .hset(this.keys.publisherKeys, id, JSON.stringify({ ...listed, digest }))
      .hset(this.keys.publisherKeyDigests, digest, id)
      .exec();
    return { ...listed, key };
  }

  async list(publisherId?: string): Promise<PublisherKey[]> {
    const all = Object.values(await this.redis.hgetall(this.keys.publisherKeys)).map(parse);
    return all
      .filter((k) => publisherId === undefined || k.publisher_id === publisherId)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : 1))
      .map(({ id, publisher_id, name, created_at }) => ({ id, publisher_id, name, created_at }));
  }

  /** Revokes a key: it is refused from the next request on. */
  async revoke(id: string): Promise<PublisherKey> {
    const raw = await this.redis.hget(this.keys.publisherKeys, id);
    if (raw === null) throw new NotFoundError(`key ${JSON.stringify(id)} not found`);
    const stored = parse(raw);
    await this.redis.multi().hdel(this.keys.publisherKeys, id).hdel(this.keys.publisherKeyDigests, stored.digest).exec();
    const { digest: _, ...listed } = stored;
    return listed;
  }

  /** The holder of a presented key, or undefined for an unknown or revoked one. */
  async owner(presented: string): Promise<KeyOwner | undefined> {
    if (!presented.startsWith(PREFIX)) return undefined;
    const id = await this.redis.hget(this.keys.publisherKeyDigests, keyDigest(presented));
    if (id === null) return undefined;
    const raw = await this.redis.hget(this.keys.publisherKeys, id);
    return raw === null ? undefined : { keyId: id, publisherId: parse(raw).publisher_id };
  }
}

function parse(raw: string): PublisherKey & { digest: string } {
  return JSON.parse(raw) as PublisherKey & { digest: string };
}
