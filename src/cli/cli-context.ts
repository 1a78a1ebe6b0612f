import { loadConfig, type Config } from '../config/schema.js';
import { createLogger, type Logger } from '../logging/logger.js';

/** Config and logger, built lazily so `--help` works without a valid environment. */
export class CliContext {
  private loaded: { config: Config; logger: Logger } | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv) {
    this.env = env;
  }

  load(overrides: Record<string, string | undefined> = {}): { config: Config; logger: Logger } {
    if (this.loaded === undefined) {
      const config = loadConfig({ ...this.env, ...overrides });
      this.loaded = { config, logger: createLogger(config.logLevel, process.stderr) };
    }
    return this.loaded;
  }
}
