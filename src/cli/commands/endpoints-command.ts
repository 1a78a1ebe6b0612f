import type { Command } from 'commander';
import { testEndpoint } from '../../delivery/test-endpoint.js';
import { disableEndpoint, enableEndpoint } from '../../health/endpoint-switch.js';
import { readHealth } from '../../health/read-health.js';
import type { CliContext } from '../cli-context.js';
import { table } from '../output.js';
import { UsageError } from '../cli-error.js';

export function registerEndpointsCommand(program: Command, ctx: CliContext): void {
  const endpoints = program.command('endpoints').description('list, show, test, enable and disable endpoints (secrets masked)');
  endpoints
    .command('list', { isDefault: true })
    .description('every endpoint with its health state')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      await ctx.withRuntime(async (runtime) => {
        const list = runtime.registry.list();
        const health = await readHealth(runtime.redis, runtime.keys, list.map((ep) => ep.id));
        const stateOf = (id: string, enabled: boolean): string => (enabled ? (health.get(id)?.state ?? 'healthy') : 'disabled');
        if (opts.json) {
          for (const ep of list) process.stdout.write(`${JSON.stringify({ ...ep.toPublic(), health: { ...health.get(ep.id), state: stateOf(ep.id, ep.enabled) } })}\n`);
          return;
        }
        const rows = list.map((ep) => {
          const h = health.get(ep.id);
          const rate = h?.success_rate_5m;
          return [ep.id, ep.publisherId, ep.preset?.name, ep.method, stateOf(ep.id, ep.enabled), rate === null || rate === undefined ? '' : `${(rate * 100).toFixed(1)}%`, h?.last_error ?? '', ep.definition.url];
        });
        process.stdout.write(`${table(rows, ['id', 'publisher', 'preset', 'method', 'state', 'ok_5m', 'last_error', 'url'])}\n`);
      });
    });
  endpoints
    .command('disable')
    .description('disable an endpoint: new events skip it, its pending postbacks end failed (disabled)')
    .argument('<id>')
    .option('--reason <text>', 'why (shown in health.disabled_reason)', 'operator')
    .action(async (id: string, opts: { reason: string }) => {
      await ctx.withRuntime(async (runtime) => {
        runtime.registry.get(id);
        const was = await disableEndpoint(runtime.redis, runtime.keys, id, opts.reason);
        process.stdout.write(`${id}: ${was} -> disabled\n`);
      });
    });
  endpoints
    .command('enable')
    .description('enable an endpoint again (healthy, failure streaks cleared)')
    .argument('<id>')
    .action(async (id: string) => {
      await ctx.withRuntime(async (runtime) => {
        const ep = runtime.registry.get(id);
        if (!ep.enabled) await runtime.registry.upsert([{ ...ep.definition, enabled: true }]);
        const was = await enableEndpoint(runtime.redis, runtime.keys, id);
        process.stdout.write(`${id}: ${ep.enabled ? was : 'disabled'} -> healthy\n`);
      });
    });
  endpoints
    .command('show')
    .description('one endpoint as JSON')
    .argument('<id>')
    .action(async (id: string) => {
      await ctx.withRuntime((runtime) => {
        process.stdout.write(`${JSON.stringify(runtime.registry.get(id).toPublic(), null, 2)}\n`);
      });
    });
  endpoints
    .command('test')
    .description("one synchronous attempt with the preset's sample event (no retries, not recorded)")
    .argument('<id>')
    .option('--event <json>', 'the event to send instead of the sample')
    .action(async (id: string, opts: { event?: string }) => {
      await ctx.withRuntime(async (runtime) => {
        let event: unknown;
        try {
          event = opts.event === undefined ? undefined : (JSON.parse(opts.event) as unknown);
        } catch {
          throw new UsageError(`--event must be a JSON object, got ${JSON.stringify(opts.event)}`);
        }
        const result = await testEndpoint(runtime.registry.get(id), runtime.deliveryAgent(), event);
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        if (!result.ok) process.exitCode = 1;
      });
    });
}
