import { loadConfig, type Config } from '../config/schema.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { Runtime } from '../runtime/runtime.js';

/** Config, logger and Redis runtime, built lazily so `--help` works without a valid environment. */
export class CliContext {
  private loaded: { config: Config; logger: Logger } | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv) {
    this.env = env;
  }

  load(): { config: Config; logger: Logger } {
    if (this.loaded === undefined) {
      const config = loadConfig(this.env);
      this.loaded = { config, logger: createLogger(config.logLevel, process.stderr) };
    }
    return this.loaded;
  }

  /**
   * Runs `fn` with a runtime on Redis (REDIS_URL) and closes it after. Short commands use
   * the same modules as the API; none needs the API running.
   */
  async withRuntime<T>(fn: (runtime: Runtime) => T | Promise<T>): Promise<T> {
    const { config, logger } = this.load();
    const runtime = await Runtime.create(config, logger, { allowEmbedded: false });
    try {
      await runtime.registry.refresh(true);
      return await fn(runtime);
    } finally {
      await runtime.close();
    }
  }
}
