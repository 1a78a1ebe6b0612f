import type { Receiver } from './receiver.js';
import type { Stack } from './stack.js';
import { SteadyTraffic } from './steady-traffic.js';

/** The stack settings of the failover tests: a small worker, a compressed retry schedule, short locks. */
export const FAILOVER_STACK_ENV: Readonly<Record<string, string>> = {
  // The topology replaces REDIS_URL.
  REDIS_URL: '',
  WORKER_CONCURRENCY: '20',
  PER_ORIGIN_CONCURRENCY: '20',
  WORKER_LOCK_MS: '4000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  RETRY_SCHEDULE: '0,0.2,0.2,0.2,0.2',
  BATCH_SIZE: '10',
};

export interface FailoverSteps {
  /** Makes the master fail (e.g. brings the replica level with it, then SIGKILLs it). */
  kill(): Promise<void>;
  /** Resolves once the replica serves as master. */
  promoted(): Promise<void>;
}

/** What producers saw through the failover, and what became of what they were told was accepted. */
export interface FailoverOutcome {
  readonly promotedInMs: number;
  readonly accepted: number;
  /** 503s: refused, nothing acknowledged. */
  readonly refused: number;
  /** Answers other than 202 and 503. */
  readonly unexpected: readonly string[];
  /** Acknowledged postbacks whose final status is not delivered. */
  readonly notDelivered: readonly string[];
  /** Acknowledged events the receiver never got. */
  readonly neverReceived: readonly string[];
}

/**
 * Steady traffic through the stack's API (endpoint `endpointId`, event ids `${prefix}-n`);
 * once 100 more requests reached the receiver, `steps.kill()`, then `steps.promoted()`; traffic goes on until
 * 50 more events are acknowledged by the same process (no restart). Then every acknowledged
 * postback is followed to its final state and looked for at the receiver.
 */
export async function failoverDrill(stack: Stack, receiver: Receiver, endpointId: string, prefix: string, steps: FailoverSteps): Promise<FailoverOutcome> {
  const traffic = new SteadyTraffic(stack, endpointId, prefix);
  let promotedInMs: number;
  try {
    await receiver.waitFor(receiver.requests.length + 100);
    await steps.kill();
    const killedAt = Date.now();
    await steps.promoted();
    promotedInMs = Date.now() - killedAt;
    await traffic.acceptedSince(Date.now(), 50);
  } finally {
    await traffic.stop();
  }
  const finals = await Promise.all(traffic.accepted.map(async (a) => ({ id: a.postbackId, status: (await stack.waitFinal(a.postbackId, 40_000)).status })));
  return {
    promotedInMs,
    accepted: traffic.accepted.length,
    refused: traffic.refused.length,
    unexpected: traffic.unexpected,
    notDelivered: finals.filter((f) => f.status !== 'delivered').map((f) => `${f.id}: ${f.status}`),
    neverReceived: traffic.undelivered(receiver).map((a) => a.eventId),
  };
}
