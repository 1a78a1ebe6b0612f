import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run by EVALSHA, loaded on first NOSCRIPT: the script text crosses the wire once. */
export class LuaScript {
  private readonly source: string;
  private readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script once per call in one pipeline. After a Redis restart the script cache
   * is empty and every call fails with NOSCRIPT (none ran): load it and send them again.
   * Each result is the call's reply, or its error.
   */
  async runMany(redis: Redis, calls: readonly { keys: readonly string[]; args: readonly (string | number)[] }[]): Promise<unknown[]> {
    const send = async (): Promise<[Error | null, unknown][]> => {
      const pipe = redis.pipeline();
      for (const c of calls) pipe.evalsha(this.sha, c.keys.length, ...c.keys, ...c.args);
      return (await pipe.exec()) ?? [];
    };
    let replies = await send();
    if (replies.some(([err]) => err?.message.startsWith('NOSCRIPT'))) {
      await redis.script('LOAD', this.source);
      replies = await send();
    }
    return replies.map(([err, value]) => err ?? value);
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
