import type { Command } from 'commander';
import { PRESETS } from '../../endpoints/presets/index.js';
import { waitFinal } from '../../history/history-store.js';
import { syntheticChains, syntheticEvent } from '../../sim/synthetic-events.js';
import type { CliContext } from '../cli-context.js';
import { UsageError } from '../cli-error.js';
import { Progress, percentile } from '../output.js';
import { paced } from '../pacer.js';

interface SimulateOptions {
  preset?: string;
  rate: string;
  count?: string;
  duration?: string;
  endpoint?: string;
  url?: string;
  method?: string;
  waitTimeout: string;
  states?: string;
  json?: boolean;
}

export function registerSimulateCommand(program: Command, ctx: CliContext): void {
  program
    .command('simulate')
    .description("send a preset's synthetic events at a rate, wait for outcomes, and summarise from history")
    .option('--preset <name>', `network to simulate (${[...PRESETS.keys()].join(', ')}); default generic events`)
    .option('--rate <n>', 'events per second', '10')
    .option('--count <n>', 'how many events (default 100 unless --duration)')
    .option('--duration <seconds>', 'send for this long instead of --count')
    .option('--endpoint <id>', 'an existing endpoint to send to')
    .option('--url <template>', 'an inline target URL (the preset applies to it)')
    .option('--method <method>', 'method of the --url target')
    .option('--wait-timeout <seconds>', 'how long to wait for final outcomes', '900')
    .option('--states <list>', 'fire chains instead: per transaction one event per state, in this order (e.g. pending,approved,reversed), sharing click_id; --count counts chains')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: SimulateOptions) => {
      if (opts.preset !== undefined && !PRESETS.has(opts.preset)) {
        throw new UsageError(`--preset must be one of ${[...PRESETS.keys()].join(', ')}, got ${JSON.stringify(opts.preset)}`);
      }
      if (!opts.endpoint && !opts.url) throw new UsageError('give --endpoint ID or --url TEMPLATE');
      const rate = Number(opts.rate);
      if (!Number.isFinite(rate) || rate <= 0) throw new UsageError(`--rate must be a positive number, got ${JSON.stringify(opts.rate)}`);
      const count =
        opts.duration !== undefined ? Math.max(1, Math.round(Number(opts.duration) * rate)) : Number(opts.count ?? '100');
      if (!Number.isInteger(count) || count < 1 || count > 10_000_000) {
        throw new UsageError(`--count must be an integer from 1 to 10000000, got ${JSON.stringify(opts.count ?? opts.duration)}`);
      }
      const target = opts.url
        ? { target: { url: opts.url, ...(opts.preset ? { preset: opts.preset } : {}), ...(opts.method ? { method: opts.method.toUpperCase() } : {}) } }
        : { endpoint_id: opts.endpoint };
      const states = opts.states === undefined ? undefined : parseStates(opts.states);
      const events = (states === undefined ? Array.from({ length: count }, (_, i) => syntheticEvent(opts.preset, i)) : syntheticChains(opts.preset, count, states)).map((e) => ({ ...e, ...target }));

      await ctx.withRuntime(async (runtime) => {
        const ids: string[] = [];
        let skipped = 0;
        const progress = new Progress(events.length);
        let sent = 0;
        for await (const chunk of paced(events, rate)) {
          const results = await runtime.producer.produce(chunk, { batch: true });
          for (const r of results) {
            ids.push(...r.postbacks);
            skipped += r.skipped.length;
          }
          sent += chunk.length;
          progress.update(sent, 'events sent');
        }
        const wp = new Progress(ids.length);
        await waitFinal(runtime.historyStore, ids, Number(opts.waitTimeout) * 1000, (n) => wp.update(n, 'final'));
        let delivered = 0;
        let failed = 0;
        let attempts = 0;
        const latencies: number[] = [];
        for (const id of ids) {
          const r = await runtime.historyStore.getRecord(id);
          if (!r) continue;
          attempts += r.attempts.length;
          if (r.status === 'delivered') {
            delivered++;
            if (r.finished_ms !== null) latencies.push(r.finished_ms - r.created_ms);
          } else if (r.status === 'failed') failed++;
        }
        latencies.sort((a, b) => a - b);
        const summary = {
          events: events.length,
          ...(states !== undefined ? { chains: count } : {}),
          postbacks: ids.length,
          skipped,
          delivered,
          failed,
          pending: ids.length - delivered - failed,
          attempts,
          latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
        };
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(summary)}\n`
            : `events ${summary.events}, postbacks ${summary.postbacks}, skipped ${skipped}, delivered ${delivered}, failed ${failed}, pending ${summary.pending}, attempts ${attempts}, latency p50 ${summary.latency_ms.p50 ?? '-'} ms, p99 ${summary.latency_ms.p99 ?? '-'} ms\n`,
        );
        if (summary.pending > 0) process.exitCode = 1;
      });
    });
}

/** `--states a,b,c`: 1 to 20 states, each a valid event state. */
function parseStates(raw: string): string[] {
  const states = raw.split(',').map((s) => s.trim());
  if (states.length < 1 || states.length > 20 || states.some((s) => !/^[A-Za-z0-9_.-]{1,64}$/.test(s)) || new Set(states).size !== states.length) {
    throw new UsageError(`--states must be 1 to 20 distinct states separated by commas (A-Za-z0-9_.-), got ${JSON.stringify(raw)}`);
  }
  return states;
}
