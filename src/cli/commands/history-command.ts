import type { Command } from 'commander';
import { csvHeader, csvRow } from '../../history/csv.js';
import { recordToListItem } from '../../history/postback-record.js';
import { iteratePostbacks } from '../../history/history-store.js';
import { parseFilter, type PostbackSummary } from '../../history/query-postbacks.js';
import { ValidationError } from '../../errors/base-error.js';
import type { CliContext } from '../cli-context.js';
import { UsageError } from '../cli-error.js';
import { table } from '../output.js';

interface HistoryOptions {
  from?: string;
  to?: string;
  status?: string;
  endpoint?: string;
  publisher?: string;
  event?: string;
  limit: string;
  json?: boolean;
  csv?: boolean;
}

export function registerHistoryCommand(program: Command, ctx: CliContext): void {
  program
    .command('history')
    .description('query postback history (newest first): a table, --json or --csv')
    .option('--from <time>', 'ISO 8601 or epoch ms (creation time)')
    .option('--to <time>', 'ISO 8601 or epoch ms')
    .option('--status <status>', 'queued, retrying, delivered or failed')
    .option('--endpoint <id>', 'endpoint id')
    .option('--publisher <id>', 'publisher id')
    .option('--event <id>', 'event id')
    .option('--limit <n>', 'rows (1-1000; --csv exports every match)', '50')
    .option('--json', 'one JSON object per line')
    .option('--csv', 'CSV with the columns of GET /v1/postbacks.csv')
    .action(async (opts: HistoryOptions) => {
      let parsed: ReturnType<typeof parseFilter>;
      try {
        parsed = parseFilter({
          from: opts.from, to: opts.to, status: opts.status, endpoint_id: opts.endpoint,
          publisher_id: opts.publisher, event_id: opts.event, limit: opts.limit,
        });
      } catch (err) {
        // A bad flag value is a usage error (exit 2), not a failure.
        if (err instanceof ValidationError) throw new UsageError(err.message);
        throw err;
      }
      const { filter, limit } = parsed;
      await ctx.withRuntime(async (runtime) => {
        if (opts.csv) {
          process.stdout.write(csvHeader());
          for await (const r of iteratePostbacks(runtime.historyStore, filter)) process.stdout.write(csvRow(r));
          return;
        }
        const { items } = await runtime.historyStore.queryPostbacks(filter, limit);
        if (opts.json) {
          for (const r of items) process.stdout.write(`${JSON.stringify(listItem(r))}\n`);
          return;
        }
        const rows = items.map((r) => [
          new Date(r.created_ms).toISOString(), r.id, r.event_id, r.endpoint_id, r.offer_id, r.payout, r.status, r.attempts, r.http_status, r.last_error,
        ]);
        process.stdout.write(`${table(rows, ['created_at', 'postback', 'event', 'endpoint', 'offer', 'payout', 'status', 'attempts', 'http', 'error'])}\n`);
      });
    });
}

function listItem(r: PostbackSummary): Record<string, unknown> {
  return recordToListItem({ ...r, attempts: [], next_attempt_ms: null }, r.attempts);
}
