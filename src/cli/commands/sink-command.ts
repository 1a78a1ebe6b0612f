import type { Command } from 'commander';
import { decodeWebhookSecret, SINK_DEFAULTS, startSink, type LatencyRange, type Sink, type SinkEntry, type SinkOptions } from '../../sim/sink-server.js';
import type { CliContext } from '../cli-context.js';
import { EXIT, UsageError } from '../cli-error.js';

interface SinkCommandOptions {
  port: string;
  host: string;
  status: string;
  failRate: string;
  failFirst: string;
  latency?: string;
  verifyStandardWebhooks?: string;
  log?: string;
  checkOrder?: string;
  stateParam: string;
  orderStates: string;
}

/**
 * `postback sink`: a mock publisher receiver for QA and the local docker stack
 * (src/sim/sink-server.ts). Needs no Redis and no configuration; prints one line per
 * request and a summary on SIGINT/SIGTERM.
 */
export function registerSinkCommand(program: Command, _ctx: CliContext): void {
  program
    .command('sink')
    .description('a mock publisher: answers postbacks as told (status, failures, latency, signature checks) and prints each one')
    .option('--port <n>', 'port to listen on; 0 picks a free one (the bound URL is printed)', String(SINK_DEFAULTS.port))
    .option('--host <address>', 'address to bind (0.0.0.0 to accept other hosts, e.g. in a container)', SINK_DEFAULTS.host)
    .option('--status <code>', 'status of a normal answer (2xx answers have the body "OK")', String(SINK_DEFAULTS.status))
    .option('--fail-rate <p>', 'fraction of requests (0 to 1) answered 500', String(SINK_DEFAULTS.failRate))
    .option('--fail-first <n>', 'answer 500 to the first N attempts of each distinct request (method + URL + body)', String(SINK_DEFAULTS.failFirst))
    .option('--latency <ms>', 'delay before answering: MS, or a range MIN-MAX')
    .option('--verify-standard-webhooks <secret>', 'answer 401 unless webhook-id/-timestamp/-signature verify with this whsec_ secret (5 min tolerance)')
    .option('--log <file>', 'append one NDJSON line per request (time, method, url, headers, body, status, verified)')
    .option('--check-order <param>', 'report accepted postbacks that arrive after a later state of the same transaction, keyed by this query parameter (or JSON body field), e.g. click_id')
    .option('--state-param <name>', 'with --check-order: the parameter holding the state', 'state')
    .option('--order-states <list>', 'with --check-order: the states in the order they happen', 'pending,approved,reversed')
    .action(async (opts: SinkCommandOptions) => {
      const options = sinkOptions(opts);
      const sink = await startSink({ ...options, onRequest: (entry) => process.stdout.write(requestLine(entry)) });
      process.stdout.write(`postback sink listening on ${sink.url}\n`);
      stopOnSignals(sink);
    });
}

/** The command's flags as sink options; a bad value is a UsageError naming the flag and the value. */
function sinkOptions(opts: SinkCommandOptions): SinkOptions {
  const options: { -readonly [K in keyof SinkOptions]: SinkOptions[K] } = {
    port: integer('--port', opts.port, 0, 65535),
    host: opts.host,
    status: integer('--status', opts.status, 200, 599),
    failRate: fraction('--fail-rate', opts.failRate),
    failFirst: integer('--fail-first', opts.failFirst, 0, 1_000_000),
  };
  if (opts.host.trim() === '') throw new UsageError('--host must be an address, got ""');
  if (opts.latency !== undefined) options.latency = latencyRange(opts.latency);
  if (opts.verifyStandardWebhooks !== undefined) {
    const key = decodeWebhookSecret(opts.verifyStandardWebhooks);
    // The value is a secret: named by its shape, never echoed.
    if (key === undefined) throw new UsageError('--verify-standard-webhooks must be "whsec_" followed by base64 (the value given is not; not shown)');
    options.webhookKey = key;
  }
  if (opts.checkOrder !== undefined) {
    const param = /^[A-Za-z0-9._~-]{1,128}$/;
    if (!param.test(opts.checkOrder)) throw new UsageError(`--check-order must be a parameter name, got ${JSON.stringify(opts.checkOrder)}`);
    if (!param.test(opts.stateParam)) throw new UsageError(`--state-param must be a parameter name, got ${JSON.stringify(opts.stateParam)}`);
    const states = opts.orderStates.split(',').map((s) => s.trim());
    if (states.length < 2 || states.some((s) => s === '') || new Set(states).size !== states.length) {
      throw new UsageError(`--order-states must be at least 2 distinct states separated by commas, got ${JSON.stringify(opts.orderStates)}`);
    }
    options.checkOrder = { keyParam: opts.checkOrder, stateParam: opts.stateParam, states };
  }
  if (opts.log !== undefined) {
    if (opts.log === '') throw new UsageError('--log must be a file path, got ""');
    options.logFile = opts.log;
  }
  return options;
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function fraction(flag: string, raw: string): number {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw new UsageError(`${flag} must be a number from 0 to 1, got ${JSON.stringify(raw)}`);
  return n;
}

/** `150` or `50-200` (milliseconds, at most 10 minutes). */
function latencyRange(raw: string): LatencyRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(raw.trim());
  const minMs = m ? Number(m[1]) : Number.NaN;
  const maxMs = m?.[2] !== undefined ? Number(m[2]) : minMs;
  if (!(minMs >= 0 && maxMs >= minMs && maxMs <= 600_000)) {
    throw new UsageError(`--latency must be MS or MIN-MAX (0 to 600000, MIN <= MAX), got ${JSON.stringify(raw)}`);
  }
  return { minMs, maxMs };
}

function requestLine(e: SinkEntry): string {
  const late = e.out_of_order === undefined ? '' : ` OUT OF ORDER: ${e.out_of_order.state} after ${e.out_of_order.after}`;
  return `${e.time} ${e.method} ${e.url} ${e.status}${e.reason === 'configured' ? '' : ` ${e.reason}`}${late}\n`;
}

/** SIGINT / SIGTERM: stop, print the summary, exit 0; a second signal exits 1 at once. */
function stopOnSignals(sink: Sink): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(EXIT.failure);
    stopping = true;
    sink.close().then(
      () => {
        const { total, byStatus, order } = sink.stats;
        const parts = Object.entries(byStatus).map(([code, n]) => `${code}: ${n}`);
        const ordered = order === undefined ? '' : `; transactions ${order.keys}, out of order ${order.outOfOrder}`;
        process.stdout.write(`sink summary: requests ${total}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${ordered}\n`);
        process.exit(EXIT.ok);
      },
      (err: unknown) => {
        process.stderr.write(`postback sink: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(EXIT.failure);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
