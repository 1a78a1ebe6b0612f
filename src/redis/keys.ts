/**
 * Every Redis key name, built in one place. With a `{hash-tag}` prefix every key (and
 * BullMQ's, which share the prefix) lands in one Redis Cluster slot, as Lua needs.
 */
export class RedisKeys {
  readonly prefix: string;
  /** BullMQ queue name; BullMQ's own keys are `${prefix}:${QUEUE_NAME}:...`. */
  static readonly QUEUE_NAME = 'deliveries';
  readonly endpoints: string;
  readonly endpointsRev: string;
  readonly index: string;
  readonly metricsTotals: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.endpoints = `${prefix}:endpoints`;
    this.endpointsRev = `${prefix}:endpoints:rev`;
    this.index = `${prefix}:idx:created`;
    this.metricsTotals = `${prefix}:totals`;
  }

  dedupe(eventId: string, endpointId: string): string {
    return `${this.prefix}:dd:${endpointId}:${eventId}`;
  }

  record(postbackId: string): string {
    return `${this.prefix}:pb:${postbackId}`;
  }
}
