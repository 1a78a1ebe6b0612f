import { createHash } from 'node:crypto';

/**
 * Every Redis key name, built in one place. With a `{hash-tag}` prefix every key (and
 * BullMQ's, which share the prefix) lands in one Redis Cluster slot, as Lua needs.
 */
export class RedisKeys {
  readonly prefix: string;
  /** BullMQ queue name; BullMQ's own keys are `${prefix}:${QUEUE_NAME}:...`. */
  static readonly QUEUE_NAME = 'deliveries';
  /** The slow lane: degraded and open endpoints, so they never sit in front of healthy ones. */
  static readonly SLOW_QUEUE_NAME = 'deliveries-slow';
  readonly endpoints: string;
  readonly endpointsRev: string;
  readonly index: string;
  readonly metricsTotals: string;
  /** Endpoint (subject) -> state, for every subject that is not healthy. */
  readonly healthStates: string;
  /** With PostgreSQL history: record snapshots waiting to be written there, in order. */
  readonly outbox: string;
  /** Held by the one process writing the outbox to PostgreSQL. */
  readonly outboxLeader: string;
  /** How far (index score) the sweep of still-queued records has gone. */
  readonly outboxSwept: string;
  /** Publisher keys: id -> listed fields and the key's digest. */
  readonly publisherKeys: string;
  /** Publisher keys: digest -> id. */
  readonly publisherKeyDigests: string;
  /** The audit log (a stream): endpoint changes, key changes, replays. */
  readonly audit: string;
  /** Held by the one worker running the orphan scan. */
  readonly orphansLock: string;
  /** Where the orphan scan stopped in the time index. */
  readonly orphansPosition: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.endpoints = `${prefix}:endpoints`;
    this.endpointsRev = `${prefix}:endpoints:rev`;
    this.index = `${prefix}:idx:created`;
    this.metricsTotals = `${prefix}:totals`;
    this.healthStates = `${prefix}:hs`;
    this.outbox = `${prefix}:hist:outbox`;
    this.outboxLeader = `${prefix}:hist:flusher`;
    this.outboxSwept = `${prefix}:hist:swept`;
    this.publisherKeys = `${prefix}:apikeys`;
    this.publisherKeyDigests = `${prefix}:apikeys:digest`;
    this.audit = `${prefix}:audit`;
    this.orphansLock = `${prefix}:orphans:lock`;
    this.orphansPosition = `${prefix}:orphans:pos`;
  }

  /** A subject's shared health (state, consecutive failures, latency, last error, auto-disable streak). */
  health(subject: string): string {
    return `${this.prefix}:h:${subject}`;
  }

  /** A subject's attempt counts and latency histogram for one minute (5-minute figures). */
  healthMinute(subject: string, minute: number): string {
    return `${this.prefix}:hm:${subject}:${minute}`;
  }

  /** Held by the one worker probing an open circuit; its TTL also spaces probes. */
  probe(subject: string): string {
    return `${this.prefix}:probe:${subject}`;
  }

  /** Rate limit of one operator alert type per subject. */
  alertGate(subject: string, type: string): string {
    return `${this.prefix}:alert:${type}:${subject}`;
  }

  dedupe(eventId: string, endpointId: string): string {
    return `${this.prefix}:dd:${endpointId}:${eventId}`;
  }

  /**
   * The turn list of an ordered endpoint's postbacks that render the same ordering key. A
   * long key is hashed: it is user data, and the name only has to be unique.
   */
  chain(dedupeScope: string, orderingKey: string): string {
    const key = orderingKey.length <= 64 ? orderingKey : createHash('sha256').update(orderingKey).digest('hex');
    // The scope's length first: ids may hold ':', and no two (scope, key) pairs may share a name.
    return `${this.prefix}:oc:${dedupeScope.length}:${dedupeScope}:${key}`;
  }

  record(postbackId: string): string {
    return `${this.prefix}:pb:${postbackId}`;
  }
}
