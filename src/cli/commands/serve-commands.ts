import type { Command } from 'commander';
import { serve, stopOnSignals } from '../../process/serve.js';
import type { CliContext } from '../cli-context.js';

export function registerServeCommands(program: Command, ctx: CliContext): void {
  const run = (roles: { api: boolean; worker: boolean }) => async () => {
    const { config, logger } = ctx.load();
    const served = await serve(config, logger, roles);
    stopOnSignals(served, logger);
  };
  program
    .command('start')
    .description('run the HTTP API and a worker in one process (what `npm start` runs)')
    .action(run({ api: true, worker: true }));
  program.command('api').description('run the HTTP API only').action(run({ api: true, worker: false }));
  program.command('worker').description('run a delivery worker only').action(run({ api: false, worker: true }));
}
