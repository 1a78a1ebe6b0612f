import { Job } from 'bullmq';
import type { Lane } from '../health/health-state.js';
import type { HistoryContext } from '../history/history-context.js';
import { takeTurns, type ChainWait } from '../history/take-turns.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';

/** A waiting postback looks again this long after the one it waits for is next due, if nobody woke it. */
const WAIT_SLACK_MS = 2000;
/** ... and at least this often (a postback that waits for a long schedule). */
const WAIT_MAX_MS = 60_000;

/**
 * How long a postback that waits for its ordering key's turn stays in the delayed set
 * before it looks again by itself. It is normally woken sooner: the attempt that makes
 * the earlier postback final hands the turn on (wakeForTurn); this is the fallback for a
 * wake that was lost (its worker died in between).
 */
export function turnWaitMs(wait: ChainWait, nowMs: number): number {
  const due = wait.headNextMs === undefined ? 0 : Math.max(0, wait.headNextMs - nowMs);
  return Math.min(due + WAIT_SLACK_MS, WAIT_MAX_MS);
}

/**
 * Wakes the job of a postback that now has its ordering key's turn: promoted from the
 * delayed set of whichever lane holds it. A postback still inside a batch job has no job of
 * its own and needs no wake (its batch takes the turn when it runs).
 */
export async function wakeForTurn(queues: Readonly<Record<Lane, DeliveryQueue>>, postbackId: string): Promise<void> {
  for (const queue of Object.values(queues)) {
    const job = await Job.fromId(queue, postbackId);
    if (job === undefined) continue;
    if (await job.isDelayed()) await job.promote();
    return;
  }
}

/**
 * After a waiting postback's job went to the delayed set: if the turn came to it meanwhile
 * (the earlier one became final and its wake found no delayed job yet), promote it now.
 */
export async function recheckTurn(history: HistoryContext, postbackId: string, promote: () => Promise<void>): Promise<void> {
  const [wait] = await takeTurns(history, [postbackId]);
  if (wait === undefined) await promote();
}
