/** What `postback sink --check-order` watches: the key and state of each accepted postback. */
export interface OrderCheckOptions {
  /** Query parameter (or top-level JSON body field) naming the transaction, e.g. click_id. */
  readonly keyParam: string;
  /** Query parameter (or JSON field) holding the state. */
  readonly stateParam: string;
  /** The states in the order they happen. */
  readonly states: readonly string[];
}

/** A postback that arrived after a later state of its transaction had been accepted. */
export interface OrderViolation {
  readonly key: string;
  readonly state: string;
  readonly after: string;
}

/** Transactions remembered at most (oldest forgotten first), so a long QA run stays bounded. */
const MAX_KEYS = 100_000;

/**
 * Checks that the accepted postbacks of each transaction arrive in state order: a state
 * accepted after a later one of the same key is out of order (a repeat is not: at-least-once
 * delivery may resend). States not in the list, and requests without a key, are not checked.
 */
export class OrderCheck {
  private readonly options: OrderCheckOptions;
  private readonly rank: ReadonlyMap<string, number>;
  private readonly highest = new Map<string, number>();
  private violations = 0;

  constructor(options: OrderCheckOptions) {
    this.options = options;
    this.rank = new Map(options.states.map((s, i) => [s, i]));
  }

  /** Records an accepted request; returns what it overtook, when it arrived out of order. */
  observe(url: string, body: string): OrderViolation | undefined {
    const { keyParam, stateParam, states } = this.options;
    const fields = fieldsOf(url, body, keyParam, stateParam);
    if (fields === undefined) return undefined;
    const rank = this.rank.get(fields.state);
    if (rank === undefined) return undefined;
    const top = this.highest.get(fields.key);
    if (top !== undefined && rank < top) {
      this.violations++;
      return { key: fields.key, state: fields.state, after: states[top]! };
    }
    if (top === undefined || rank > top) {
      this.highest.delete(fields.key);
      this.highest.set(fields.key, rank);
      if (this.highest.size > MAX_KEYS) this.highest.delete(this.highest.keys().next().value as string);
    }
    return undefined;
  }

  get stats(): { readonly keys: number; readonly outOfOrder: number } {
    return { keys: this.highest.size, outOfOrder: this.violations };
  }
}

function fieldsOf(url: string, body: string, keyParam: string, stateParam: string): { key: string; state: string } | undefined {
  const query = new URL(url, 'http://sink').searchParams;
  let key = query.get(keyParam);
  let state = query.get(stateParam);
  if ((key === null || state === null) && body.startsWith('{')) {
    try {
      const json = JSON.parse(body) as Record<string, unknown>;
      key ??= scalar(json[keyParam]);
      state ??= scalar(json[stateParam]);
    } catch {
      // Not JSON: only the query counts.
    }
  }
  return key === null || state === null || key === '' ? undefined : { key, state };
}

function scalar(v: unknown): string | null {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}
