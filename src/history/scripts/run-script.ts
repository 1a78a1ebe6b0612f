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
   * is empty and calls fail with NOSCRIPT (they did not run): load it and send those again.
   * Each result is the call's reply, or its error.
   */
  async runMany(redis: Redis, calls: readonly { keys: readonly string[]; args: readonly (string | number)[] }[]): Promise<unknown[]> {
    const send = async (batch: readonly { keys: readonly string[]; args: readonly (string | number)[] }[]): Promise<unknown[]> => {
      const pipe = redis.pipeline();
      for (const c of batch) pipe.evalsha(this.sha, c.keys.length, ...c.keys, ...c.args);
      return ((await pipe.exec()) ?? []).map(([err, value]) => err ?? value);
    };
    const replies = await send(calls);
    const missing = replies.flatMap((r, i) => (r instanceof Error && r.message.startsWith('NOSCRIPT') ? [i] : []));
    if (missing.length > 0) {
      // Only the calls that did not run go again (a failover can empty the script cache mid-pipeline).
      await redis.script('LOAD', this.source);
      const again = await send(missing.map((i) => calls[i]!));
      missing.forEach((i, j) => (replies[i] = again[j]));
    }
    return replies;
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
