import type { HealthBoard } from '../health/health-board.js';
import type { AdaptiveLimiter } from './adaptive-limiter.js';
import type { LaneGovernor } from './lane-governor.js';

/**
 * Whether a slow-lane request (adaptive mode) may go now, the one rule lone jobs and batch
 * items share: `full` when its origin has no room (said before any wait: a parked job would
 * only have held a token and the line); else it takes the governor's pace, and is `ready`
 * unless the governor closed meanwhile (stopping) or the circuit opened while it waited
 * (`not now`: the caller hands it on, using no attempt). Probes and last chances do not ask.
 */
export async function slowLaneTurn(governor: LaneGovernor | undefined, limiter: AdaptiveLimiter, board: HealthBoard, origin: string, subject: string): Promise<'ready' | 'full' | 'not now'> {
  if (!limiter.admits(origin)) return 'full';
  if (governor !== undefined && !(await governor.pace())) return 'not now';
  return board.stateOf(subject) === 'open' ? 'not now' : 'ready';
}
