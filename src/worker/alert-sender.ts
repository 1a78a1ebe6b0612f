import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { Agent } from 'undici';
import { send } from '../delivery/send.js';
import type { Transition } from '../health/health-reporter.js';
import type { Logger } from '../logging/logger.js';
import type { RedisKeys } from '../redis/keys.js';
import { StandardWebhooksSigner } from '../signing/standard-webhooks.js';

export type AlertType = 'endpoint.degraded' | 'endpoint.disabled' | 'endpoint.recovered';

/** Which alert a health transition raises, if any. */
export function alertFor(t: Transition): AlertType | undefined {
  if (t.to === 'disabled') return 'endpoint.disabled';
  if ((t.to === 'degraded' || t.to === 'open') && t.from === 'healthy') return 'endpoint.degraded';
  if (t.to === 'healthy' && (t.from === 'degraded' || t.from === 'open')) return 'endpoint.recovered';
  return undefined;
}

export interface AlertSenderOptions {
  readonly url: string;
  /** Standard Webhooks secret; alerts go unsigned without one. */
  readonly secret: string | undefined;
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly logger: Logger;
  /** At most one alert per endpoint and type per this long (SPEC: 10 minutes), across workers. */
  readonly gateMs?: number;
  /** Waits between tries of one alert. */
  readonly retryDelaysMs?: readonly number[];
}

const TIMEOUT_MS = 5000;
/** Alerts waiting or being sent at once; past it new ones are dropped (and logged). */
const MAX_PENDING = 100;
const CLOSE_WAIT_MS = 2000;

/**
 * Operator alerts (SPEC: ALERT_WEBHOOK_URL), signed with Standard Webhooks. Sent in the
 * background on an Agent of their own, never awaited by a delivery: an alert receiver that
 * is down or slow costs deliveries nothing. Rate-limited per endpoint and type through
 * Redis (SET NX with a TTL), so N workers send one alert, not N.
 */
export class AlertSender {
  private readonly options: AlertSenderOptions;
  private readonly signer: StandardWebhooksSigner | undefined;
  private readonly agent = new Agent({ connections: 4, keepAliveTimeout: 10_000 });
  private readonly pending = new Set<Promise<void>>();

  constructor(options: AlertSenderOptions) {
    this.options = options;
    this.signer = options.secret === undefined ? undefined : new StandardWebhooksSigner(options.secret);
  }

  /** Raises the transition's alert, if it has one, in the background. */
  notify(t: Transition, details: Readonly<Record<string, unknown>> = {}): void {
    const type = alertFor(t);
    if (type === undefined) return;
    if (this.pending.size >= MAX_PENDING) {
      this.options.logger.warn({ type, endpointId: t.subject }, 'alert dropped: too many alerts pending');
      return;
    }
    const p = this.deliver(type, t, details).catch((err: unknown) => this.options.logger.error({ err, type, endpointId: t.subject }, 'alert not sent'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(type: AlertType, t: Transition, details: Readonly<Record<string, unknown>>): Promise<void> {
    const { redis, keys, logger } = this.options;
    const gate = await redis.set(keys.alertGate(t.subject, type), '1', 'PX', this.options.gateMs ?? 600_000, 'NX');
    if (gate !== 'OK') return;
    const id = `alert_${randomUUID()}`;
    const body = JSON.stringify({
      type,
      timestamp: new Date().toISOString(),
      data: { endpoint_id: t.subject, state: t.to, previous_state: t.from, consecutive_failures: t.consecutiveFailures, ...details },
    });
    const delays = this.options.retryDelaysMs ?? [1000, 5000];
    for (let i = 0; ; i++) {
      const headers = { 'content-type': 'application/json', ...this.signer?.headers(id, body, Math.floor(Date.now() / 1000)) };
      const res = await send(this.agent, { method: 'POST', url: this.options.url, headers, body }, undefined, TIMEOUT_MS).catch((err: unknown) => err as Error);
      const ok = !(res instanceof Error) && res.statusCode >= 200 && res.statusCode < 300;
      if (ok) {
        logger.info({ type, endpointId: t.subject }, 'alert sent');
        return;
      }
      const wait = delays[i];
      if (wait === undefined) {
        logger.warn({ type, endpointId: t.subject, statusCode: res instanceof Error ? 0 : res.statusCode }, 'alert receiver did not accept the alert');
        return;
      }
      await new Promise((r) => setTimeout(r, wait).unref());
    }
  }

  /** Waits a little for alerts under way (never longer than CLOSE_WAIT_MS), then closes. */
  async close(): Promise<void> {
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    await this.agent.destroy();
  }
}
