import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrderCheck, type OrderCheckOptions, type OrderViolation } from './order-check.js';

/**
 * A mock publisher receiver (`postback sink`): answers every request as configured
 * (status, injected failures, latency, Standard Webhooks verification), reports each one
 * and keeps counts. Loopback by default; it needs no Redis.
 */

/** The only place the sink's defaults are written (the CLI shows them in --help). */
export const SINK_DEFAULTS = {
  port: 9000,
  host: '127.0.0.1',
  status: 200,
  failRate: 0,
  failFirst: 0,
} as const;

/** Standard Webhooks: a signature older or newer than this is refused (the reference libraries' tolerance). */
export const WEBHOOK_TOLERANCE_S = 5 * 60;
/** Bodies above this are answered 413 and not kept. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Most distinct requests remembered for --fail-first; the least recently seen is forgotten first. */
const MAX_TRACKED_REQUESTS = 100_000;

export interface LatencyRange {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface SinkOptions {
  /** 0 picks a free port. @defaultValue 9000 */
  readonly port?: number;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** Status of a normal answer; 2xx answers have the body "OK". @defaultValue 200 */
  readonly status?: number;
  /** Fraction (0..1) of requests answered 500. @defaultValue 0 */
  readonly failRate?: number;
  /** The first N attempts of each distinct request (method + URL + body) are answered 500. @defaultValue 0 */
  readonly failFirst?: number;
  /** Delay before answering, uniform in [minMs, maxMs]. @defaultValue none */
  readonly latency?: LatencyRange;
  /** Standard Webhooks key (the decoded secret, see decodeWebhookSecret); set: unsigned or badly signed requests get 401. */
  readonly webhookKey?: Buffer;
  /** Appends one NDJSON line (a SinkEntry) per answered request. */
  readonly logFile?: string;
  /** Called once per answered request. */
  readonly onRequest?: (entry: SinkEntry) => void;
  /** Report accepted postbacks that arrive after a later state of their transaction. */
  readonly checkOrder?: OrderCheckOptions;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** One answered request, as reported and logged. */
export interface SinkEntry {
  readonly time: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
  /** Standard Webhooks result; null when verification is off. */
  readonly verified: boolean | null;
  /** Why this status: configured, fail-first N/M, fail-rate, missing-signature, stale-timestamp, bad-signature, too-large. */
  readonly reason: string;
  readonly latency_ms: number;
  /** With checkOrder: the later state this accepted postback arrived after. */
  readonly out_of_order?: OrderViolation;
}

export interface SinkStats {
  readonly total: number;
  /** Answered requests per status code. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** With checkOrder: transactions seen, and accepted postbacks that arrived out of order. */
  readonly order?: { readonly keys: number; readonly outOfOrder: number };
}

export interface Sink {
  /** The bound address, e.g. http://127.0.0.1:9000. */
  readonly url: string;
  readonly stats: SinkStats;
  /** Stops listening, drops open connections and pending answers, flushes the log. Idempotent. */
  close(): Promise<void>;
}

interface Verdict {
  readonly status: number;
  readonly reason: string;
  readonly verified: boolean | null;
}

/** `whsec_` + base64 (prefix optional, as in the reference libraries) to the HMAC key; undefined when malformed. */
export function decodeWebhookSecret(secret: string): Buffer | undefined {
  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) return undefined;
  return key;
}

/**
 * Checks `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256
 * of "id.timestamp.body">`, several space-separated allowed). Returns undefined when one
 * v1 signature matches, else the reason.
 */
export function verifyStandardWebhooks(key: Buffer, headers: IncomingHttpHeaders, body: Buffer, nowS: number): string | undefined {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string' || !id || !timestamp || !signatures) {
    return 'missing-signature';
  }
  if (!/^\d{1,15}$/.test(timestamp)) return 'bad-timestamp';
  if (Math.abs(nowS - Number(timestamp)) > WEBHOOK_TOLERANCE_S) return 'stale-timestamp';
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  for (const versioned of signatures.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma === -1 || versioned.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(versioned.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
  }
  return 'bad-signature';
}

/** Starts the sink; resolves once it listens (and the log file is open). */
export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  const host = options.host ?? SINK_DEFAULTS.host;
  const status = options.status ?? SINK_DEFAULTS.status;
  const failRate = options.failRate ?? SINK_DEFAULTS.failRate;
  const failFirst = options.failFirst ?? SINK_DEFAULTS.failFirst;
  const { latency, webhookKey, onRequest } = options;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;

  const seen = new Map<string, number>();
  const byStatus = new Map<number, number>();
  let total = 0;
  const pending = new Set<NodeJS.Timeout>();
  const order = options.checkOrder === undefined ? undefined : new OrderCheck(options.checkOrder);

  let log: WriteStream | undefined;
  if (options.logFile !== undefined) {
    log = createWriteStream(options.logFile, { flags: 'a' });
    await once(log, 'open');
  }

  /** The attempt number of this distinct request (method + URL + body). */
  const attemptOf = (method: string, url: string, body: Buffer): number => {
    const key = createHash('sha256').update(method).update(' ').update(url).update('\n').update(body).digest('base64');
    const n = (seen.get(key) ?? 0) + 1;
    seen.delete(key);
    seen.set(key, n);
    if (seen.size > MAX_TRACKED_REQUESTS) seen.delete(seen.keys().next().value as string);
    return n;
  };

  const decide = (req: IncomingMessage, body: Buffer): Verdict => {
    let verified: boolean | null = null;
    if (webhookKey !== undefined) {
      const problem = verifyStandardWebhooks(webhookKey, req.headers, body, Math.floor(now() / 1000));
      if (problem !== undefined) return { status: 401, reason: problem, verified: false };
      verified = true;
    }
    if (failFirst > 0) {
      const n = attemptOf(req.method ?? '', req.url ?? '', body);
      if (n <= failFirst) return { status: 500, reason: `fail-first ${n}/${failFirst}`, verified };
    }
    if (failRate > 0 && random() < failRate) return { status: 500, reason: 'fail-rate', verified };
    return { status, reason: 'configured', verified };
  };

  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, verdict: Verdict, delayMs: number): void => {
    const text = verdict.status >= 200 && verdict.status < 300 ? 'OK' : `${STATUS_CODES[verdict.status] ?? 'Status'} (${verdict.reason})`;
    const bodyless = req.method === 'HEAD' || verdict.status === 204 || verdict.status === 304;
    res.writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8', ...(verdict.status === 413 ? { connection: 'close' } : {}) });
    res.end(bodyless ? undefined : text);
    total++;
    byStatus.set(verdict.status, (byStatus.get(verdict.status) ?? 0) + 1);
    const bodyText = body.toString('utf8');
    const accepted = verdict.status >= 200 && verdict.status < 300;
    const outOfOrder = accepted ? order?.observe(req.url ?? '', bodyText) : undefined;
    const entry: SinkEntry = {
      time: new Date(now()).toISOString(),
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: bodyText,
      status: verdict.status,
      verified: verdict.verified,
      reason: verdict.reason,
      latency_ms: delayMs,
      ...(outOfOrder !== undefined ? { out_of_order: outOfOrder } : {}),
    };
    log?.write(`${JSON.stringify(entry)}\n`);
    onRequest?.(entry);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : Buffer.alloc(0);
      const verdict = size <= MAX_BODY_BYTES ? decide(req, body) : { status: 413, reason: 'too-large', verified: null };
      const delayMs = latency === undefined ? 0 : latency.minMs + Math.floor(random() * (latency.maxMs - latency.minMs + 1));
      if (delayMs === 0) return answer(req, res, body, verdict, 0);
      const timer = setTimeout(() => {
        pending.delete(timer);
        answer(req, res, body, verdict, delayMs);
      }, delayMs);
      pending.add(timer);
    });
  });

  server.listen(options.port ?? SINK_DEFAULTS.port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    log?.destroy();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    get stats(): SinkStats {
      return { total, byStatus: Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])), ...(order !== undefined ? { order: order.stats } : {}) };
    },
    close() {
      closing ??= (async () => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        if (log !== undefined) await new Promise<void>((resolve) => log.end(resolve));
      })();
      return closing;
    },
  };
}
