import type { Receiver } from './receiver.js';
import type { Stack } from './stack.js';
import { waitForValue } from './wait-until.js';

/** One acknowledged event: the API answered 202 with its postback. */
export interface Accepted {
  readonly eventId: string;
  readonly postbackId: string;
  /** When the 202 arrived. */
  readonly at: number;
}

/**
 * Producers at work through a fault: POST /v1/events with `batch` new events (ids
 * `${prefix}-n`), over and over, one request at a time, until stopped. Every answer is
 * kept: 202s (what was acknowledged, and when), 503s (refused: nothing acknowledged), and
 * anything else (which no fault may cause).
 */
export class SteadyTraffic {
  readonly accepted: Accepted[] = [];
  /** When each 503 arrived. */
  readonly refused: number[] = [];
  readonly unexpected: string[] = [];
  private next = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly stack: Stack,
    private readonly endpointId: string,
    private readonly prefix: string,
    private readonly batch = 10,
  ) {
    this.loop = this.run();
  }

  /** Resolves once `n` events sent after `since` (epoch ms) were acknowledged. */
  async acceptedSince(since: number, n: number, timeoutMs = 20_000): Promise<void> {
    await waitForValue(`${n} events acknowledged after the fault`, () => Promise.resolve(this.accepted.filter((a) => a.at > since).length >= n ? true : undefined), timeoutMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Acknowledged events the receiver never got (`e` query parameter = event id). */
  undelivered(receiver: Receiver): Accepted[] {
    const got = new Set(receiver.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('e')));
    return this.accepted.filter((a) => !got.has(a.eventId));
  }

  private async run(): Promise<void> {
    while (this.running) {
      const events = Array.from({ length: this.batch }, () => ({ id: `${this.prefix}-${this.next++}`, type: 'conversion', endpoint_id: this.endpointId }));
      const res = await this.stack.post('/v1/events', { events }).catch((err: unknown) => ({ status: 0, json: undefined, text: String(err) }));
      const at = Date.now();
      if (res.status === 202) {
        (res.json.events as { id: string; postbacks: string[] }[]).forEach((e) => this.accepted.push({ eventId: e.id, postbackId: e.postbacks[0]!, at }));
      } else if (res.status === 503) {
        this.refused.push(at);
        // Redis is failing over: try again soon, not in a tight loop.
        await new Promise((r) => setTimeout(r, 20));
      } else {
        this.unexpected.push(`${res.status} ${res.text.slice(0, 300)}`);
      }
    }
  }
}
