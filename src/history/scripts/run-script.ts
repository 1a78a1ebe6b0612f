import { createHash } from 'node:crypto';
import type { RedisClient } from '../../redis/connection.js';

/** One run of a script: its keys (all in one slot on a Cluster) and arguments. */
type Call = { readonly keys: readonly string[]; readonly args: readonly (string | number)[] };

/** A Lua script run by EVALSHA, sent whole (EVAL) on NOSCRIPT: the script text crosses the wire once per node. */
export class LuaScript {
  private readonly source: string;
  private readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script once per call in one pipeline. After a Redis restart the script cache
   * is empty and calls fail with NOSCRIPT (they did not run): those go again with the text.
   * Each result is the call's reply, or its error.
   */
  async runMany(redis: RedisClient, calls: readonly Call[]): Promise<unknown[]> {
    const send = async (batch: readonly Call[], command: 'evalsha' | 'eval'): Promise<unknown[]> => {
      const pipe = redis.pipeline();
      for (const c of batch) pipe[command](command === 'evalsha' ? this.sha : this.source, c.keys.length, ...c.keys, ...c.args);
      return ((await pipe.exec()) ?? []).map(([err, value]) => err ?? value);
    };
    const replies = await send(calls, 'evalsha');
    const missing = replies.flatMap((r, i) => (r instanceof Error && r.message.startsWith('NOSCRIPT') ? [i] : []));
    if (missing.length > 0) {
      // Only the calls that did not run go again (a failover can empty the script cache
      // mid-pipeline), as EVAL: it caches the script on the node that runs it, which on a
      // Cluster is the node of the calls' keys (a keyless SCRIPT LOAD would go to any node).
      const again = await send(missing.map((i) => calls[i]!), 'eval');
      missing.forEach((i, j) => (replies[i] = again[j]));
    }
    return replies;
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
