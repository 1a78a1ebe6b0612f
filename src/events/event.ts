/** A validated event: what travels from the edge (API, CLI, library) into the producer. */
export type FieldValue = string | number | boolean;

export interface PostbackEvent {
  readonly id: string;
  /** True when the producer generated `id`: such events are never deduplicated. */
  readonly idGenerated: boolean;
  readonly type: string;
  readonly state: string | undefined;
  readonly publisherId: string | undefined;
  readonly endpointId: string | undefined;
  /** An inline endpoint for QA; validated by the endpoints layer. */
  readonly target: Readonly<Record<string, unknown>> | undefined;
  readonly occurredAt: string;
  readonly occurredMs: number;
  readonly payout: number | undefined;
  /** Every top-level scalar as a macro value (id, type, state, payout, ...). Null prototype. */
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** Custom data; nested objects allowed. Null prototype at every level. */
  readonly payload: Readonly<Record<string, unknown>>;
}
