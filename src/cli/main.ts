#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isPostbackError, ValidationError } from '../errors/base-error.js';
import { CliContext } from './cli-context.js';
import { EXIT, UsageError } from './cli-error.js';
import { registerServeCommands } from './commands/serve-commands.js';
import { registerSinkCommand } from './commands/sink-command.js';
import { registerSendCommand } from './commands/send-command.js';
import { registerReplayCommand } from './commands/replay-command.js';
import { registerSimulateCommand } from './commands/simulate-command.js';
import { registerHistoryCommand } from './commands/history-command.js';
import { registerEndpointsCommand } from './commands/endpoints-command.js';
import { registerKeysCommand } from './commands/keys-command.js';

/** Commands that serve until a signal. */
const LONG_RUNNING = new Set(['start', 'api', 'worker', 'sink']);

/** The `postback` command. Errors print one clear line; exit 0 ok, 1 failure, 2 usage. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const ctx = new CliContext(env);
  const program = new Command('postback')
    .description('Server-to-server postback dispatcher: events in, postbacks out, every outcome recorded.')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerServeCommands(program, ctx);
  registerSendCommand(program, ctx);
  registerReplayCommand(program, ctx);
  registerSimulateCommand(program, ctx);
  registerSinkCommand(program, ctx);
  registerHistoryCommand(program, ctx);
  registerEndpointsCommand(program, ctx);
  registerKeysCommand(program, ctx);
  if (argv.length === 0) {
    // No command is a usage error: show what there is.
    process.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`postback: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ValidationError && err.details.length > 1) {
      process.stderr.write(`postback: ${err.message.split('\n')[0]}\n`);
      for (const d of err.details) process.stderr.write(`  ${d.path}: ${d.message}\n`);
      return EXIT.failure;
    }
    const message = isPostbackError(err) || err instanceof Error ? err.message : String(err);
    process.stderr.write(`postback: ${message}\n`);
    return EXIT.failure;
  }
}

const code = await main(process.argv.slice(2), process.env);
// Long-running commands (start, api, worker, sink) keep the event loop alive and exit on
// signals; every other command exits here, with the code it set.
if (code !== EXIT.ok || !LONG_RUNNING.has(process.argv[2] ?? '')) process.exit(code !== EXIT.ok ? code : (process.exitCode ?? EXIT.ok));
