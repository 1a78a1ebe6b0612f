import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

/** `postback sink`: a mock publisher receiver (implemented in src/sim/sink-server.ts). */
export function registerSinkCommand(program: Command, _ctx: CliContext): void {
  program.command('sink').description('a mock publisher receiver (not implemented yet)');
}
