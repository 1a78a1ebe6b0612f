import type { HistoryContext } from './history-context.js';
import { TAKE_TURNS } from './scripts/chain.js';

/** An ordered postback that must wait: the earlier one of its key it waits for. */
export interface ChainWait {
  readonly waitingFor: string;
  /** When that one's next attempt is due (ms), when known. */
  readonly headNextMs: number | undefined;
}

/**
 * For postbacks of ordered endpoints about to make their first attempt: per postback,
 * undefined when it has its key's turn (it is then written so until it is final), else
 * what it waits for (also written into its record, `waiting_for`). One script call.
 */
export async function takeTurns(ctx: HistoryContext, postbackIds: readonly string[]): Promise<(ChainWait | undefined)[]> {
  if (postbackIds.length === 0) return [];
  const reply = (await TAKE_TURNS.run(
    ctx.redis,
    postbackIds.map((id) => ctx.keys.record(id)),
    postbackIds,
  )) as string[];
  return postbackIds.map((_, i) => {
    const waitingFor = reply[2 * i];
    if (!waitingFor) return undefined;
    const next = reply[2 * i + 1];
    return { waitingFor, headNextMs: next ? Number(next) : undefined };
  });
}
