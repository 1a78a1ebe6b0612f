import type { Command } from 'commander';
import { recordToApi } from '../../history/postback-record.js';
import { waitFinal } from '../../history/history-store.js';
import type { CliContext } from '../cli-context.js';
import { UsageError } from '../cli-error.js';
import { parseKeyValues } from '../key-values.js';

interface SendOptions {
  endpoint?: string;
  publisher?: string;
  url?: string;
  preset?: string;
  method?: string;
  type: string;
  id?: string;
  wait?: boolean;
  waitTimeout: string;
}

export function registerSendCommand(program: Command, ctx: CliContext): void {
  program
    .command('send')
    .description('enqueue one event given as flags and key=value fields; prints the postback id(s)')
    .argument('[fields...]', 'event fields as key=value (payload.user_id=3 nests into payload)')
    .option('--endpoint <id>', 'route to this endpoint')
    .option('--publisher <id>', 'route to every matching endpoint of this publisher')
    .option('--url <template>', 'route to an inline target with this URL template')
    .option('--preset <name>', 'preset of the inline target (monetag, momentscience, maxppi, advanced)')
    .option('--method <method>', 'method of the inline target (GET or POST)')
    .option('--type <type>', 'event type', 'conversion')
    .option('--id <id>', 'event id (idempotency key)')
    .option('--wait', 'wait for the final outcome and print the record')
    .option('--wait-timeout <seconds>', 'how long --wait waits', '900')
    .action(async (fields: string[], opts: SendOptions) => {
      const event: Record<string, unknown> = { type: opts.type, ...parseKeyValues(fields) };
      if (opts.id) event.id = opts.id;
      if (opts.endpoint) event.endpoint_id = opts.endpoint;
      if (opts.publisher) event.publisher_id = opts.publisher;
      if (opts.url || opts.preset || opts.method) {
        if (!opts.url) throw new UsageError('--preset and --method describe an inline target: give --url too');
        event.target = {
          url: opts.url,
          ...(opts.preset ? { preset: opts.preset } : {}),
          ...(opts.method ? { method: opts.method.toUpperCase() } : {}),
        };
      }
      if (!event.endpoint_id && !event.publisher_id && !event.target) throw new UsageError('give --endpoint, --publisher or --url');
      await ctx.withRuntime(async (runtime) => {
        const [result] = await runtime.producer.produce([event]);
        if (!result) return;
        if (result.postbacks.length === 0) {
          process.stdout.write(`no postback: ${result.skipped.map((s) => `${s.endpoint_id} ${s.reason}`).join(', ')}\n`);
          return;
        }
        if (!opts.wait) {
          for (const id of result.postbacks) process.stdout.write(`${id}\n`);
          return;
        }
        const status = await waitFinal(runtime.historyStore, result.postbacks, Number(opts.waitTimeout) * 1000);
        for (const id of result.postbacks) {
          const record = await runtime.historyStore.getRecord(id);
          process.stdout.write(`${JSON.stringify(record ? recordToApi(record) : { id, status: status.get(id) }, null, 2)}\n`);
        }
        if ([...status.values()].some((s) => s !== 'delivered')) process.exitCode = 1;
      });
    });
}
