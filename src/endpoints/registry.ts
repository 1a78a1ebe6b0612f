import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { compileEndpoint, type CompiledEndpoint, type EndpointDefaults } from './compile-endpoint.js';
import { EndpointConfigError, EndpointNotFoundError } from './errors.js';

/** The endpoint id of every inline target (reserved: no registered endpoint may use it). */
export const INLINE_ID = 'inline';
const INLINE_CACHE_SIZE = 1000;

interface Entry {
  readonly json: string;
  readonly endpoint: CompiledEndpoint;
}

export interface EndpointRegistryOptions {
  /**
   * Called once per stored definition (id and JSON) that does not compile: it is left out
   * of routing, so say so (the error names the field). Called again only if it changes.
   */
  readonly onBroken?: ((id: string, err: Error) => void) | undefined;
}

/**
 * Endpoints live in one Redis hash (id -> JSON definition, secrets included) plus a
 * revision counter. Each process keeps them compiled in memory and re-reads the hash only
 * when the counter moved, so a change made through any process applies to postbacks
 * enqueued after it, at the cost of one GET per produce call.
 */
export class EndpointRegistry {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly defaults: EndpointDefaults;
  private entries = new Map<string, Entry>();
  private byPublisher = new Map<string, CompiledEndpoint[]>();
  private rev: string | null | undefined;
  /**
   * Definitions in Redis that no longer compile (e.g. written by another version), by id:
   * why. They route nothing; the API lists them, the producer names them, /metrics counts them.
   */
  readonly broken = new Map<string, Error>();
  /** The JSON of each broken definition already reported to `onBroken`. */
  private reportedBroken = new Map<string, string>();
  private readonly onBroken: ((id: string, err: Error) => void) | undefined;
  /** One refresh at a time: concurrent callers share it. */
  private refreshing: Promise<void> | undefined;
  /** Compiled inline targets by their JSON: `simulate --url` sends one target many times. */
  private readonly inline = new Map<string, CompiledEndpoint>();

  constructor(redis: RedisClient, keys: RedisKeys, defaults: EndpointDefaults, options: EndpointRegistryOptions = {}) {
    this.redis = redis;
    this.keys = keys;
    this.defaults = defaults;
    this.onBroken = options.onBroken;
  }

  /** Compiles without storing: throws EndpointConfigError/ValidationError naming fields. */
  compile(input: unknown, prefix = 'endpoint'): CompiledEndpoint {
    return compileEndpoint(input, this.defaults, prefix);
  }

  /**
   * An event's inline `target`, compiled (and cached) as endpoint `inline`: a target can
   * never take a registered endpoint's id, and with it that endpoint's secrets.
   */
  compileInline(target: Readonly<Record<string, unknown>>, prefix: string): CompiledEndpoint {
    const key = JSON.stringify(target);
    let ep = this.inline.get(key);
    if (ep === undefined) {
      if (target.id !== undefined && target.id !== INLINE_ID) {
        throw new EndpointConfigError(`${prefix}.id: an inline target has no id of its own`, [
          { path: `${prefix}.id`, message: 'an inline target has no id (route to a registered endpoint with endpoint_id)' },
        ]);
      }
      ep = compileEndpoint({ ...target, id: INLINE_ID }, this.defaults, prefix, { inline: true });
      if (this.inline.size >= INLINE_CACHE_SIZE) this.inline.clear();
      this.inline.set(key, ep);
    }
    return ep;
  }

  /** Validates every definition first; stores all or none. */
  async upsert(inputs: readonly unknown[]): Promise<CompiledEndpoint[]> {
    const compiled = inputs.map((input, i) => this.compile(input, inputs.length === 1 ? 'endpoint' : `endpoints[${i}]`));
    for (const [i, ep] of compiled.entries()) {
      if (ep.id === INLINE_ID) {
        const path = inputs.length === 1 ? 'endpoint.id' : `endpoints[${i}].id`;
        throw new EndpointConfigError(`${path}: "${INLINE_ID}" is reserved for inline targets`, [{ path, message: `"${INLINE_ID}" is reserved for inline targets` }]);
      }
    }
    if (compiled.length === 0) return compiled;
    const tx = this.redis.multi();
    for (const ep of compiled) tx.hset(this.keys.endpoints, ep.id, JSON.stringify(ep.definition));
    tx.incr(this.keys.endpointsRev);
    await tx.exec();
    await this.refresh(true);
    return compiled;
  }

  async remove(id: string): Promise<boolean> {
    const tx = this.redis.multi();
    tx.hdel(this.keys.endpoints, id);
    tx.incr(this.keys.endpointsRev);
    const res = await tx.exec();
    await this.refresh(true);
    return res?.[0]?.[1] === 1;
  }

  /** Re-reads the hash when its revision changed (or always, with `force`). */
  async refresh(force = false): Promise<void> {
    if (this.refreshing !== undefined && !force) return this.refreshing;
    const run = this.doRefresh(force).finally(() => {
      if (this.refreshing === run) this.refreshing = undefined;
    });
    this.refreshing = run;
    return run;
  }

  private async doRefresh(force: boolean): Promise<void> {
    const rev = await this.redis.get(this.keys.endpointsRev);
    if (!force && rev === this.rev && this.rev !== undefined) return;
    const all = await this.redis.hgetall(this.keys.endpoints);
    const next = new Map<string, Entry>();
    const reported = new Map<string, string>();
    this.broken.clear();
    for (const [id, json] of Object.entries(all)) {
      const prev = this.entries.get(id);
      if (prev?.json === json) {
        next.set(id, prev);
        continue;
      }
      try {
        next.set(id, { json, endpoint: this.compile(parseStored(id, json), `endpoints.${id}`) });
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.broken.set(id, error);
        reported.set(id, json);
        if (this.reportedBroken.get(id) !== json) this.onBroken?.(id, error);
      }
    }
    this.reportedBroken = reported;
    const byPublisher = new Map<string, CompiledEndpoint[]>();
    for (const { endpoint } of next.values()) {
      if (endpoint.publisherId === undefined) continue;
      const list = byPublisher.get(endpoint.publisherId) ?? [];
      list.push(endpoint);
      byPublisher.set(endpoint.publisherId, list);
    }
    // Stable fan-out order (the hash's order is not): by endpoint id.
    for (const list of byPublisher.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.entries = next;
    this.byPublisher = byPublisher;
    this.rev = rev;
  }

  /** The cached endpoint (call `refresh` first for cross-process freshness). */
  find(id: string): CompiledEndpoint | undefined {
    return this.entries.get(id)?.endpoint;
  }

  get(id: string): CompiledEndpoint {
    const ep = this.find(id);
    if (ep === undefined) throw new EndpointNotFoundError(`endpoint ${JSON.stringify(id)} not found`);
    return ep;
  }

  forPublisher(publisherId: string): readonly CompiledEndpoint[] {
    return this.byPublisher.get(publisherId) ?? [];
  }

  list(): CompiledEndpoint[] {
    return [...this.entries.values()].map((e) => e.endpoint).sort((a, b) => a.id.localeCompare(b.id));
  }
}

/** A stored definition as JSON; one that is not JSON at all is a config error naming the endpoint. */
function parseStored(id: string, json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    const path = `endpoints.${id}`;
    throw new EndpointConfigError(`${path}: the stored definition is not valid JSON`, [{ path, message: 'not valid JSON' }]);
  }
}
