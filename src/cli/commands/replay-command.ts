import type { Command } from 'commander';
import { ValidationError } from '../../errors/base-error.js';
import { checkEvent } from '../../events/validate-event.js';
import { waitFinal } from '../../history/history-store.js';
import type { CliContext } from '../cli-context.js';
import { UsageError } from '../cli-error.js';
import { readEventFile } from '../event-file.js';
import { Progress } from '../output.js';
import { paced } from '../pacer.js';

interface ReplayOptions {
  rate?: string;
  dryRun?: boolean;
  force?: boolean;
  wait?: boolean;
  waitTimeout: string;
  endpoint?: string;
  publisher?: string;
  url?: string;
  preset?: string;
}

export function registerReplayCommand(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description('send the events of an NDJSON or CSV file; every row is validated before anything is sent')
    .argument('<file>', 'NDJSON (one event per line) or CSV (header row of field names; payload.x columns)')
    .option('--rate <n>', 'events per second')
    .option('--dry-run', 'print each rendered request, send nothing')
    .option('--force', 'bypass dedupe (send events whose id was already sent)')
    .option('--wait', 'wait for final outcomes and add delivered/failed to the summary')
    .option('--wait-timeout <seconds>', 'how long --wait waits', '900')
    .option('--endpoint <id>', 'route rows that name no endpoint_id, publisher_id or target')
    .option('--publisher <id>', 'as --endpoint, by publisher')
    .option('--url <template>', 'as --endpoint, to an inline target URL')
    .option('--preset <name>', 'preset of the --url target')
    .action(async (file: string, opts: ReplayOptions) => {
      const rate = opts.rate === undefined ? undefined : Number(opts.rate);
      if (rate !== undefined && (!Number.isFinite(rate) || rate <= 0 || rate > 100_000)) {
        throw new UsageError(`--rate must be a number of events per second from 0 to 100000, got ${JSON.stringify(opts.rate)}`);
      }
      const { events, errors } = await readEventFile(file);
      const route = (raw: unknown): unknown => {
        if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
        const e = raw as Record<string, unknown>;
        if (e.endpoint_id !== undefined || e.publisher_id !== undefined || e.target !== undefined) return e;
        if (opts.endpoint) return { ...e, endpoint_id: opts.endpoint };
        if (opts.publisher) return { ...e, publisher_id: opts.publisher };
        if (opts.url) return { ...e, target: { url: opts.url, ...(opts.preset ? { preset: opts.preset } : {}) } };
        return e;
      };
      const rows = events.map((e) => ({ line: e.line, raw: route(e.raw) }));
      // Validate every row first: one bad row and nothing is sent.
      for (const row of rows) {
        const r = checkEvent(row.raw);
        if (r.details) for (const d of r.details) errors.push({ line: row.line, message: `${d.path} ${d.message}` });
      }
      if (errors.length > 0) {
        errors.sort((a, b) => a.line - b.line);
        for (const e of errors) process.stderr.write(`${file}:${e.line}: ${e.message}\n`);
        process.stderr.write(`postback: ${errors.length} bad row(s) in ${file}; nothing was sent\n`);
        process.exitCode = 1;
        return;
      }
      await ctx.withRuntime(async (runtime) => {
        // Route and render every row before sending any: an unknown endpoint or a bad target
        // on the last line stops the run before the first line is sent.
        let planned: Awaited<ReturnType<typeof runtime.producer.dryRun>>;
        try {
          planned = await runtime.producer.dryRun(rows.map((r) => r.raw));
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          for (const d of err.details) {
            const m = /^events\[(\d+)\]\.?(.*)$/.exec(d.path);
            const line = m ? rows[Number(m[1])]?.line : undefined;
            process.stderr.write(`${file}:${line ?? '?'}: ${m ? m[2] : d.path} ${d.message}\n`);
          }
          process.stderr.write(`postback: ${err.details.length} bad row(s) in ${file}; nothing was sent\n`);
          process.exitCode = 1;
          return;
        }
        if (opts.dryRun) {
          for (const p of planned) process.stdout.write(`${JSON.stringify(p)}\n`);
          process.stderr.write(`dry run: ${rows.length} event(s), ${planned.length} postback(s), nothing sent\n`);
          return;
        }
        const progress = new Progress(rows.length);
        const ids: string[] = [];
        let done = 0;
        let duplicates = 0;
        let skipped = 0;
        for await (const chunk of paced(rows, rate)) {
          const results = await runtime.producer.produce(chunk.map((r) => r.raw), { force: opts.force, batch: true });
          for (const r of results) {
            ids.push(...r.postbacks);
            duplicates += r.skipped.filter((s) => s.reason === 'duplicate').length;
            skipped += r.skipped.filter((s) => s.reason !== 'duplicate').length;
          }
          done += chunk.length;
          progress.update(done, 'events sent');
        }
        let summary = `events ${rows.length}, enqueued ${ids.length}, duplicates ${duplicates}, skipped ${skipped}`;
        if (opts.wait) {
          const wp = new Progress(ids.length);
          const status = await waitFinal(runtime.historyStore, ids, Number(opts.waitTimeout) * 1000, (n) => wp.update(n, 'final'));
          const delivered = [...status.values()].filter((s) => s === 'delivered').length;
          const failed = [...status.values()].filter((s) => s === 'failed').length;
          summary += `, delivered ${delivered}, failed ${failed}`;
          if (delivered !== ids.length) process.exitCode = 1;
        }
        process.stdout.write(`${summary}\n`);
      });
    });
}
