import { ValidationError, describeValue, type ErrorDetail } from '../errors/base-error.js';
import { redactUrl } from './redact-url.js';
import { parseRetrySchedule } from './retry-schedule.js';
import { MAX_QUEUE_SHARDS, parseShardList } from './shard-list.js';

/**
 * The single place where every environment variable, its default and its meaning is
 * written. `loadConfig` reads `process.env` once at start; nothing else reads it.
 */
export interface Config {
  readonly redisUrl: string | undefined;
  /** True when REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES are all unset: the process may start an embedded redis-server. */
  readonly redisUrlDefaulted: boolean;
  /** Sentinels to ask for the master named `redisSentinelName` (instead of REDIS_URL's host). */
  readonly redisSentinels: readonly HostPort[] | undefined;
  readonly redisSentinelName: string | undefined;
  /** Seed nodes of a Redis Cluster (instead of REDIS_URL's host). */
  readonly redisClusterNodes: readonly HostPort[] | undefined;
  readonly port: number;
  readonly host: string;
  readonly apiKeys: readonly string[];
  readonly endpointsFile: string | undefined;
  readonly retryScheduleS: readonly number[];
  readonly requestTimeoutMs: number;
  readonly workerConcurrency: number;
  readonly batchSize: number;
  readonly allowPrivateTargets: boolean;
  readonly allowedTargetCidrs: readonly string[];
  readonly perOriginConcurrency: number;
  readonly dedupeTtlDays: number;
  readonly historyRetentionDays: number;
  /** postgres:// URL: history in PostgreSQL; unset: history in Redis. */
  readonly historyUrl: string | undefined;
  /** Most history writes (record snapshots) waiting in Redis for PostgreSQL before new events are refused. */
  readonly historyOutboxMax: number;
  readonly queuePrefix: string;
  /** Hash-tagged shards postbacks are spread over by endpoint (1: the plain QUEUE_PREFIX, as before sharding). */
  readonly queueShards: number;
  /** The shards this process's workers consume (sorted); undefined: all of them. */
  readonly workerShards: readonly number[] | undefined;
  /** Earlier QUEUE_SHARDS values whose shards workers still drain and history still reads (after a change of QUEUE_SHARDS). */
  readonly drainQueueShards: readonly number[];
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly workerLockMs: number;
  readonly workerStalledIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly redisDataDir: string;
  readonly circuitFailures: number;
  readonly circuitProbeIntervalMs: number;
  readonly slowEndpointMs: number;
  readonly slowLaneConcurrency: number;
  readonly slowLaneOriginMax: number;
  /** Run the slow lane in a worker thread of its own (postback start / worker). */
  readonly slowLaneThread: boolean;
  readonly autoDisableFailures: number;
  readonly autoDisableWindowHours: number;
  readonly alertWebhookUrl: string | undefined;
  readonly alertWebhookSecret: string | undefined;
  readonly metricsPort: number | undefined;
}

/** A `host:port` of a sentinel or cluster node. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

type Parser<T> = (raw: string, name: string) => T;

interface VariableSpec<K extends keyof Config> {
  readonly env: string;
  readonly key: K;
  /** The default as a user would write it in the environment; undefined = unset. */
  readonly default: string | undefined;
  readonly description: string;
  readonly parse: Parser<Config[K]>;
}

function fail(name: string, raw: string, message: string): never {
  throw new ValidationError(`${name}=${describeValue(raw)}: ${message}`, [{ path: name, message }]);
}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) fail(name, raw, `must be an integer from ${min} to ${max}`);
    return n;
  };

const positive =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) fail(name, raw, `must be a number from ${min} to ${max}`);
    return n;
  };

const boolean: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return fail(name, raw, 'must be true or false');
};

const list: Parser<readonly string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** `host:port,...` (IPv6 as `[::1]:26379`); at least one entry. */
const hostPorts: Parser<readonly HostPort[]> = (raw, name) => {
  const entries = list(raw, name);
  if (entries.length === 0) fail(name, raw, 'must be host:port,... (at least one)');
  return entries.map((entry) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry);
    const port = Number(m?.[2]);
    if (m === null || port < 1 || port > 65535) fail(name, raw, `entry ${describeValue(entry)} must be host:port (port 1-65535)`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
};

const text: Parser<string> = (raw) => raw;
const optionalText: Parser<string | undefined> = (raw) => (raw === '' ? undefined : raw);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function spec<K extends keyof Config>(s: VariableSpec<K>): VariableSpec<K> {
  return s;
}

/** Every variable the dispatcher reads, in the order the README documents them. */
export const VARIABLES = [
  spec({ env: 'REDIS_URL', key: 'redisUrl', default: undefined, parse: optionalText,
    description: 'Redis connection URL. Unset: redis://127.0.0.1:6379, or an embedded redis-server when nothing answers there.' }),
  spec({ env: 'REDIS_SENTINELS', key: 'redisSentinels', default: undefined, parse: hostPorts,
    description: 'Redis Sentinel: comma-separated host:port of the sentinels; the master is found (and followed through failovers) by REDIS_SENTINEL_NAME. REDIS_URL then only lends its user and password.' }),
  spec({ env: 'REDIS_SENTINEL_NAME', key: 'redisSentinelName', default: undefined, parse: optionalText,
    description: 'With REDIS_SENTINELS (required there): the master name the sentinels monitor.' }),
  spec({ env: 'REDIS_CLUSTER_NODES', key: 'redisClusterNodes', default: undefined, parse: hostPorts,
    description: 'Redis Cluster: comma-separated host:port of some of its nodes (the rest are discovered). Needs a {hash-tag} QUEUE_PREFIX. REDIS_URL then only lends its user and password.' }),
  spec({ env: 'PORT', key: 'port', default: '8080', parse: integer(0, 65535), description: 'HTTP API port.' }),
  spec({ env: 'HOST', key: 'host', default: undefined, parse: text,
    description: 'HTTP API bind address. Default 0.0.0.0, or 127.0.0.1 when API_KEYS is unset.' }),
  spec({ env: 'API_KEYS', key: 'apiKeys', default: '', parse: list,
    description: 'Comma-separated Bearer keys for the API. Unset: no auth, and the API binds to 127.0.0.1 only.' }),
  spec({ env: 'POSTBACK_ENDPOINTS', key: 'endpointsFile', default: undefined, parse: optionalText,
    description: 'JSON file of endpoints upserted at start. Default config/endpoints.json when present.' }),
  spec({ env: 'RETRY_SCHEDULE', key: 'retryScheduleS', default: '0,60,90,120,150',
    parse: (raw, name) => parseRetrySchedule(raw, name),
    description: 'Seconds before each attempt (attempt 1 first); 1 to 20 entries, fractions allowed. The enqueuing process stores it with each postback.' }),
  spec({ env: 'REQUEST_TIMEOUT_MS', key: 'requestTimeoutMs', default: '10000', parse: integer(100, 30000),
    description: 'Default overall deadline of one attempt (endpoints may set 1000-30000).' }),
  spec({ env: 'WORKER_CONCURRENCY', key: 'workerConcurrency', default: '100', parse: integer(1, 10000),
    description: 'Jobs in progress per worker process on the fast lane (a batch job counts once; PER_ORIGIN_CONCURRENCY bounds the attempts in flight to each origin).' }),
  spec({ env: 'BATCH_SIZE', key: 'batchSize', default: '100', parse: integer(1, 1000),
    description: 'Most first attempts one batch job carries (postbacks of one produce call for healthy endpoints). 1: a job per postback.' }),
  spec({ env: 'ALLOW_PRIVATE_TARGETS', key: 'allowPrivateTargets', default: 'false', parse: boolean,
    description: 'Allow loopback, private and link-local targets (SSRF guard off). Local stacks and tests only.' }),
  spec({ env: 'ALLOWED_TARGET_CIDRS', key: 'allowedTargetCidrs', default: '', parse: list,
    description: 'Comma-separated CIDRs the SSRF guard lets through although they are private.' }),
  spec({ env: 'PER_ORIGIN_CONCURRENCY', key: 'perOriginConcurrency', default: undefined,
    parse: integer(1, 10000),
    description: 'Most attempts in flight to one origin per worker process. Default: a quarter of WORKER_CONCURRENCY, at least 1.' }),
  spec({ env: 'DEDUPE_TTL_DAYS', key: 'dedupeTtlDays', default: '7', parse: positive(0.00001, 3650),
    description: 'How long an event id blocks a second postback to the same endpoint.' }),
  spec({ env: 'HISTORY_RETENTION_DAYS', key: 'historyRetentionDays', default: '30', parse: positive(0.00001, 3650),
    description: 'How long postback records are kept.' }),
  spec({ env: 'HISTORY_URL', key: 'historyUrl', default: undefined, parse: (raw, name) => {
      if (!/^postgres(ql)?:\/\//.test(raw)) fail(name, redactUrl(raw), 'must be a postgres:// or postgresql:// URL');
      return raw;
    },
    description: 'Unset: history in Redis (a laptop, a QA run). postgres://...: history in PostgreSQL, partitioned by day (a network\'s volume); Redis then holds only the queue, dedupe keys and pending postbacks.' }),
  spec({ env: 'HISTORY_OUTBOX_MAX', key: 'historyOutboxMax', default: '1000000', parse: integer(1000, 100_000_000),
    description: 'With HISTORY_URL: most history writes waiting in Redis for PostgreSQL (it is down or slow) before new events get 503. Deliveries go on meanwhile.' }),
  spec({ env: 'QUEUE_PREFIX', key: 'queuePrefix', default: 'postback', parse: (raw, name) => {
      if (!/^[A-Za-z0-9_:{}.-]{1,64}$/.test(raw)) fail(name, raw, 'must be 1-64 chars of A-Za-z0-9_:{}.-');
      return raw;
    },
    description: 'Prefix of every Redis key; use a {hash-tag} for Redis Cluster.' }),
  spec({ env: 'QUEUE_SHARDS', key: 'queueShards', default: '1', parse: integer(1, MAX_QUEUE_SHARDS),
    description: 'Hash-tagged shards (queues, records, dedupe keys, ordering chains, Redis history) postbacks are spread over by endpoint; each shard can live on its own Redis Cluster master. 1: one key set under QUEUE_PREFIX, as before. Producers and workers must agree (docs/scaling.md: changing it on a live system).' }),
  spec({ env: 'WORKER_SHARDS', key: 'workerShards', default: undefined, parse: (raw, name) => parseShardList(raw, name, MAX_QUEUE_SHARDS),
    description: 'The shards this worker process consumes: ranges and numbers, e.g. 0-3 or 0,2,5. Unset: every shard.' }),
  spec({ env: 'DRAIN_QUEUE_SHARDS', key: 'drainQueueShards', default: '', parse: (raw, name) => list(raw, name).map((v) => integer(1, MAX_QUEUE_SHARDS)(v, name)),
    description: 'After a change of QUEUE_SHARDS: the earlier value(s), comma-separated. Workers also drain those shards and history also reads them, until their postbacks are final and past retention.' }),
  spec({ env: 'LOG_LEVEL', key: 'logLevel', default: 'info', parse: (raw, name) => {
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) fail(name, raw, `must be one of ${LOG_LEVELS.join(', ')}`);
      return raw as Config['logLevel'];
    },
    description: 'pino log level.' }),
  spec({ env: 'WORKER_LOCK_MS', key: 'workerLockMs', default: '45000', parse: integer(1000, 600000),
    description: 'BullMQ job lock. Attempts are cut off 1 s before it, so it always outlasts the request.' }),
  spec({ env: 'WORKER_STALLED_INTERVAL_MS', key: 'workerStalledIntervalMs', default: '30000', parse: integer(500, 600000),
    description: 'How often workers look for jobs whose worker died (at-least-once recovery).' }),
  spec({ env: 'SHUTDOWN_TIMEOUT_MS', key: 'shutdownTimeoutMs', default: '15000', parse: integer(0, 600000),
    description: 'On SIGTERM, how long in-flight attempts may run before the process exits (their jobs return to the queue).' }),
  spec({ env: 'REDIS_DATA_DIR', key: 'redisDataDir', default: './data/redis', parse: text,
    description: 'Data directory of the embedded redis-server (AOF on).' }),
  spec({ env: 'CIRCUIT_FAILURES', key: 'circuitFailures', default: '5', parse: integer(1, 1000),
    description: "Consecutive failed attempts (all workers together) that open an endpoint's circuit." }),
  spec({ env: 'CIRCUIT_PROBE_INTERVAL_MS', key: 'circuitProbeIntervalMs', default: '10000', parse: integer(50, 3_600_000),
    description: 'While a circuit is open: how long after it opened, or after a failed probe, the next probe may go.' }),
  spec({ env: 'SLOW_ENDPOINT_MS', key: 'slowEndpointMs', default: '1000', parse: integer(10, 60_000),
    description: 'An endpoint whose attempts take longer (or are still in flight after it) is degraded: it moves to the slow lane.' }),
  spec({ env: 'SLOW_LANE_CONCURRENCY', key: 'slowLaneConcurrency', default: '1000', parse: integer(1, 100_000),
    description: 'Attempts in flight per worker process in the slow lane (degraded and open endpoints). In-flight requests are cheap; slots are not shared with healthy endpoints.' }),
  spec({ env: 'SLOW_LANE_ORIGIN_MAX', key: 'slowLaneOriginMax', default: '200', parse: integer(1, 10_000),
    description: "Most attempts in flight to one origin in the slow lane per worker process (the adaptive limit's ceiling)." }),
  spec({ env: 'SLOW_LANE_THREAD', key: 'slowLaneThread', default: 'true', parse: boolean,
    description: 'Run the slow lane (degraded and open endpoints) in a worker thread of its own, at a lower OS priority on Linux: its event loop, heap and garbage collection are apart from the API and the fast lane. false: both lanes on the main thread.' }),
  spec({ env: 'AUTO_DISABLE_FAILURES', key: 'autoDisableFailures', default: '10', parse: integer(0, 100_000),
    description: 'Consecutive final failures of an endpoint that disable it (0: never).' }),
  spec({ env: 'AUTO_DISABLE_WINDOW_HOURS', key: 'autoDisableWindowHours', default: '72', parse: positive(0.0001, 87_600),
    description: 'The consecutive final failures must fall within this many hours.' }),
  spec({ env: 'ALERT_WEBHOOK_URL', key: 'alertWebhookUrl', default: undefined, parse: optionalText,
    description: 'Operator alerts (endpoint.degraded, endpoint.disabled, endpoint.recovered) are POSTed here, at most one per endpoint and type per 10 minutes.' }),
  spec({ env: 'ALERT_WEBHOOK_SECRET', key: 'alertWebhookSecret', default: undefined, parse: optionalText,
    description: 'Standard Webhooks secret (whsec_...) that signs operator alerts.' }),
  spec({ env: 'METRICS_PORT', key: 'metricsPort', default: undefined, parse: integer(0, 65535),
    description: '`postback worker` serves /metrics and /healthz on this port (unset: no HTTP server in a worker process).' }),
] as const;

export type ConfigEnv = Readonly<Record<string, string | undefined>>;

/** Reads, validates and freezes the configuration. Every bad variable is reported at once. */
export function loadConfig(env: ConfigEnv): Config {
  const out: Record<string, unknown> = {};
  const details: ErrorDetail[] = [];
  for (const v of VARIABLES) {
    // An empty variable means unset (compose files pass empty values through).
    const given = env[v.env];
    const raw = given === undefined || given.trim() === '' ? v.default : given;
    if (raw === undefined) {
      out[v.key] = undefined;
      continue;
    }
    try {
      out[v.key] = (v.parse as Parser<unknown>)(raw, v.env);
    } catch (err) {
      if (err instanceof ValidationError) details.push({ path: v.env, message: err.message });
      else throw err;
    }
  }
  const apiKeys = (out.apiKeys as string[] | undefined) ?? [];
  out.redisUrlDefaulted = out.redisUrl === undefined && out.redisSentinels === undefined && out.redisClusterNodes === undefined;
  details.push(...topologyErrors(env, out.queuePrefix));
  if (out.host === undefined) out.host = apiKeys.length > 0 ? '0.0.0.0' : '127.0.0.1';
  else if (apiKeys.length === 0 && !isLoopback(out.host as string)) {
    // SPEC: without API_KEYS the API listens on loopback only; a wider HOST would open it keyless.
    details.push({ path: 'HOST', message: `HOST=${describeValue(out.host)} without API_KEYS would serve the API to everyone: set API_KEYS, or a loopback HOST` });
  }
  const schedule = out.retryScheduleS as number[] | undefined;
  const retentionDays = out.historyRetentionDays as number | undefined;
  if (schedule !== undefined && retentionDays !== undefined && retentionDays * 86_400 <= schedule.reduce((a, b) => a + b, 0)) {
    details.push({ path: 'HISTORY_RETENTION_DAYS', message: `HISTORY_RETENTION_DAYS=${retentionDays} is shorter than RETRY_SCHEDULE: records would expire before their last attempt` });
  }
  const shards = out.queueShards as number | undefined;
  const workerShards = out.workerShards as number[] | undefined;
  if (shards !== undefined && workerShards !== undefined && workerShards[workerShards.length - 1]! >= shards) {
    details.push({
      path: 'WORKER_SHARDS',
      message: `WORKER_SHARDS=${describeValue(env.WORKER_SHARDS)} names shard ${workerShards[workerShards.length - 1]}, but QUEUE_SHARDS=${shards} has shards 0 to ${shards - 1}`,
    });
  }
  if (out.perOriginConcurrency === undefined) {
    out.perOriginConcurrency = Math.max(1, Math.floor((out.workerConcurrency as number) / 4));
  }
  if (
    typeof out.workerLockMs === 'number' &&
    typeof out.requestTimeoutMs === 'number' &&
    out.workerLockMs < out.requestTimeoutMs + 1000
  ) {
    details.push({
      path: 'WORKER_LOCK_MS',
      message: `WORKER_LOCK_MS=${out.workerLockMs} must exceed REQUEST_TIMEOUT_MS=${out.requestTimeoutMs} by at least 1000`,
    });
  }
  if (details.length > 0) {
    throw new ValidationError(`invalid configuration: ${details.map((d) => d.message).join('; ')}`, details);
  }
  return Object.freeze(out) as unknown as Config;
}

/**
 * Sentinel and Cluster settings that only make sense together (or only apart). Judged on
 * what was set, so a malformed list is reported once, as itself.
 */
function topologyErrors(env: ConfigEnv, queuePrefix: unknown): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const set = (name: string): boolean => (env[name] ?? '').trim() !== '';
  const raw = (name: string): string => describeValue(env[name]);
  const sentinels = set('REDIS_SENTINELS');
  const cluster = set('REDIS_CLUSTER_NODES');
  if (sentinels && cluster) {
    errors.push({
      path: 'REDIS_CLUSTER_NODES',
      message: `REDIS_SENTINELS=${raw('REDIS_SENTINELS')} and REDIS_CLUSTER_NODES=${raw('REDIS_CLUSTER_NODES')} are exclusive: set one (Sentinel or Cluster)`,
    });
  }
  if (sentinels && !set('REDIS_SENTINEL_NAME')) {
    errors.push({ path: 'REDIS_SENTINEL_NAME', message: `REDIS_SENTINELS=${raw('REDIS_SENTINELS')} needs REDIS_SENTINEL_NAME (the master name the sentinels monitor)` });
  }
  if (!sentinels && set('REDIS_SENTINEL_NAME')) {
    errors.push({ path: 'REDIS_SENTINEL_NAME', message: `REDIS_SENTINEL_NAME=${raw('REDIS_SENTINEL_NAME')} is used only with REDIS_SENTINELS, which is unset` });
  }
  if (cluster && typeof queuePrefix === 'string' && hashTagOf(queuePrefix) === undefined) {
    errors.push({
      path: 'QUEUE_PREFIX',
      message: `QUEUE_PREFIX=${describeValue(queuePrefix)} with REDIS_CLUSTER_NODES=${raw('REDIS_CLUSTER_NODES')}: must hold a {hash-tag} (e.g. {postback}) so every key of the queue lands in one cluster slot`,
    });
  }
  return errors;
}

/** The hash tag Redis Cluster hashes a key by: the text between the first `{` and the next `}`, when not empty. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
