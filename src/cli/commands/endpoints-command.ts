import type { Command } from 'commander';
import { testEndpoint } from '../../delivery/test-endpoint.js';
import type { CliContext } from '../cli-context.js';
import { table } from '../output.js';
import { UsageError } from '../cli-error.js';

export function registerEndpointsCommand(program: Command, ctx: CliContext): void {
  const endpoints = program.command('endpoints').description('list, show and test endpoints (secrets masked)');
  endpoints
    .command('list', { isDefault: true })
    .description('every endpoint')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      await ctx.withRuntime(async (runtime) => {
        const list = runtime.registry.list();
        if (opts.json) {
          for (const ep of list) process.stdout.write(`${JSON.stringify(ep.toPublic())}\n`);
          return;
        }
        const rows = list.map((ep) => [ep.id, ep.publisherId, ep.preset?.name, ep.method, ep.enabled ? 'yes' : 'no', ep.definition.url]);
        process.stdout.write(`${table(rows, ['id', 'publisher', 'preset', 'method', 'enabled', 'url'])}\n`);
      });
    });
  endpoints
    .command('show')
    .description('one endpoint as JSON')
    .argument('<id>')
    .action(async (id: string) => {
      await ctx.withRuntime(async (runtime) => {
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
