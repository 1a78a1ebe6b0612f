/**
 * Worker entry point (`node dist/workers/postback-worker.js`, same as `postback worker`):
 * load config, build the logger, start the worker, close on SIGTERM.
 */
import { loadConfig } from '../src/config/schema.js';
import { createLogger } from '../src/logging/logger.js';
import { serve, stopOnSignals } from '../src/process/serve.js';

const config = loadConfig(process.env);
const logger = createLogger(config.logLevel);
try {
  stopOnSignals(await serve(config, logger, { api: false, worker: true }), logger);
} catch (err) {
  process.stderr.write(`postback worker: ${(err as Error).message}\n`);
  process.exit(1);
}
