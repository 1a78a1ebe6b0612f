/** The thresholds of the health state machine, resolved once from the configuration. */
export interface HealthPolicy {
  /** Consecutive failed attempts that open the circuit. */
  readonly openAfter: number;
  /** Consecutive failed attempts that degrade an endpoint (before its circuit opens). */
  readonly degradeAfter: number;
  /** Attempts slower than this (done or still in flight) degrade the endpoint. */
  readonly slowMs: number;
  /** How long an open circuit waits before its first probe, and after a failed one. */
  readonly probeIntervalMs: number;
  /** Consecutive final failures that disable an endpoint (0: never). */
  readonly autoDisableAfter: number;
  readonly autoDisableWindowMs: number;
}

export interface HealthPolicyInput {
  readonly circuitFailures: number;
  readonly slowEndpointMs: number;
  readonly circuitProbeIntervalMs: number;
  readonly autoDisableFailures: number;
  readonly autoDisableWindowHours: number;
}

export function healthPolicy(config: HealthPolicyInput): HealthPolicy {
  return Object.freeze({
    openAfter: config.circuitFailures,
    // Degrade a little before opening: the slow lane takes the endpoint while it is still tried.
    degradeAfter: Math.max(1, Math.min(3, config.circuitFailures - 1)),
    slowMs: config.slowEndpointMs,
    probeIntervalMs: config.circuitProbeIntervalMs,
    autoDisableAfter: config.autoDisableFailures,
    autoDisableWindowMs: Math.round(config.autoDisableWindowHours * 3_600_000),
  });
}
