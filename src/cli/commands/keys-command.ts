import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { table } from '../output.js';

/** `postback keys`: publisher keys (SPEC: Keys), made, listed and revoked on Redis as an operator. */
export function registerKeysCommand(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('publisher keys: a key sees and acts on its own publisher\'s postbacks and endpoints only');
  keys
    .command('create')
    .description('make a key for a publisher; the key is printed once and stored only as a hash')
    .requiredOption('--publisher <id>', 'the publisher the key is confined to')
    .option('--name <text>', 'what the key is for', '')
    .option('--json', 'print the key and its fields as JSON')
    .action(async (opts: { publisher: string; name: string; json?: boolean }) => {
      await ctx.withRuntime(async (runtime) => {
        const made = await runtime.publisherKeys.create({ publisher_id: opts.publisher, name: opts.name });
        await runtime.audit.append({ actor: 'cli', action: 'key.create', target: made.id, publisher_id: made.publisher_id });
        process.stdout.write(opts.json ? `${JSON.stringify(made)}\n` : `key ${made.id} for publisher ${made.publisher_id} (shown once, keep it):\n${made.key}\n`);
      });
    });
  keys
    .command('list', { isDefault: true })
    .description('every publisher key (never the keys themselves)')
    .option('--publisher <id>', 'only this publisher\'s')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { publisher?: string; json?: boolean }) => {
      await ctx.withRuntime(async (runtime) => {
        const list = await runtime.publisherKeys.list(opts.publisher);
        if (opts.json) for (const k of list) process.stdout.write(`${JSON.stringify(k)}\n`);
        else process.stdout.write(`${table(list.map((k) => [k.id, k.publisher_id, k.name, k.created_at]), ['id', 'publisher', 'name', 'created_at'])}\n`);
      });
    });
  keys
    .command('revoke')
    .description('revoke a key: refused from the next request on')
    .argument('<id>')
    .action(async (id: string) => {
      await ctx.withRuntime(async (runtime) => {
        const revoked = await runtime.publisherKeys.revoke(id);
        await runtime.audit.append({ actor: 'cli', action: 'key.revoke', target: id, publisher_id: revoked.publisher_id });
        process.stdout.write(`key ${id} (publisher ${revoked.publisher_id}) revoked\n`);
      });
    });
}
