import { createHash } from 'node:crypto';
import type { PostbackEvent } from '../events/event.js';
import { CompiledTemplate, type MacroSource } from '../templates/compile.js';
import { encodeUriStrict } from '../templates/encode.js';
import { TemplateSyntaxError } from '../templates/errors.js';
import { compileJsonTemplate, type JsonRenderer } from '../templates/json-template.js';
import type { MacroSyntax } from '../templates/syntax.js';
import { compileHashFunction } from '../signing/hash-signer.js';
import { StandardWebhooksSigner } from '../signing/standard-webhooks.js';
import { ValidationError, type ErrorDetail } from '../errors/base-error.js';
import { defaultBody } from './default-body.js';
import { EndpointConfigError } from './errors.js';
import { PostbackValues } from './macro-values.js';
import { PRESETS, type Preset } from './presets/index.js';
import type { RenderedRequest } from './rendered-request.js';
import { parseEndpointInput, type EndpointDefinition } from './schema.js';
import { MASK, SECRET_HEADER, SecretMasker } from './secrets.js';
import { compileSuccessRule, type SuccessRule, type SuccessSpec } from './success-rule.js';

/** Defaults an endpoint inherits from the process configuration. */
export interface EndpointDefaults {
  readonly requestTimeoutMs: number;
  readonly retryScheduleS: readonly number[];
}

export type SkipReason = 'disabled' | 'event_type' | 'state' | 'zero_payout';

const stripControl = (text: string): string => (/[\r\n\0]/.test(text) ? text.replace(/[\r\n\0]/g, ' ') : text);

/** Everything about one endpoint that the hot path needs, prepared once. */
export class CompiledEndpoint {
  readonly id: string;
  readonly publisherId: string | undefined;
  readonly version: string;
  readonly enabled: boolean;
  readonly method: 'GET' | 'POST';
  readonly preset: Preset | undefined;
  readonly definition: EndpointDefinition;
  readonly timeoutMs: number;
  readonly scheduleS: readonly number[];
  readonly delayS: number;
  readonly successSpec: SuccessSpec | undefined;
  readonly success: SuccessRule;
  readonly masker: SecretMasker;
  /** The secret values the masker looks for (inline targets pass them to the worker). */
  readonly secrets: readonly string[];
  readonly webhookSigner: StandardWebhooksSigner | undefined;
  /** An event's inline target, not a registered endpoint: the job carries what the worker needs. */
  readonly inline: boolean;
  /** Dedupe scope: the id, or for inline targets the id plus a digest of the target. */
  readonly dedupeScope: string;
  /** Whether postbacks that render the same `ordering_key` go one at a time, in order. */
  readonly ordered: boolean;

  private readonly syntax: MacroSyntax;
  private readonly url: CompiledTemplate;
  private readonly fragment: string;
  private readonly params: readonly (readonly [string, CompiledTemplate])[];
  private readonly urlHasQuery: boolean;
  private readonly headers: readonly (readonly [string, CompiledTemplate])[];
  private readonly body: JsonRenderer | undefined;
  private readonly events: ReadonlySet<string> | undefined;
  private readonly states: ReadonlySet<string> | undefined;
  private readonly allowZeroPayout: boolean;
  private readonly securityToken: string | undefined;
  private readonly orderingKey: CompiledTemplate | undefined;
  private readonly hashSign:
    | { readonly param: string; readonly over: 'url' | readonly CompiledTemplate[]; readonly separator: string; readonly plain: boolean; readonly secret: string; readonly fn: (s: string) => string }
    | undefined;

  constructor(input: EndpointDefinition, defaults: EndpointDefaults, options: { inline?: boolean } = {}) {
    const preset = input.preset === undefined ? undefined : PRESETS.get(input.preset);
    if (input.preset !== undefined && preset === undefined) {
      throw configError(input.id, 'preset', `unknown preset ${JSON.stringify(input.preset)} (known: ${[...PRESETS.keys()].join(', ')})`);
    }
    const def = { ...(preset?.defaults ?? {}), ...stripUndefined(input) } as EndpointDefinition;
    this.definition = input;
    this.preset = preset;
    this.id = def.id;
    this.publisherId = def.publisher_id;
    this.version = createHash('sha1').update(JSON.stringify(input)).digest('hex').slice(0, 12);
    this.inline = options.inline === true;
    // Two different inline targets must not dedupe each other's events.
    this.dedupeScope = this.inline ? `${input.id}:${this.version}` : input.id;
    this.enabled = def.enabled ?? true;
    this.method = def.method ?? 'GET';
    this.syntax = def.macro_syntax ?? '{}';
    this.timeoutMs = def.timeout_ms ?? defaults.requestTimeoutMs;
    this.scheduleS = def.retry_schedule ?? defaults.retryScheduleS;
    this.delayS = def.delay_s ?? 0;
    this.successSpec = def.success;
    this.success = compileSuccessRule(def.success);
    this.allowZeroPayout = def.allow_zero_payout ?? false;
    this.events = def.events ? new Set(def.events) : undefined;
    this.states = def.states ? new Set(def.states) : undefined;
    this.securityToken = def.security_token ?? undefined;

    this.orderingKey = def.ordering_key == null ? undefined : this.compileOrderingKey(def.ordering_key);
    this.ordered = this.orderingKey !== undefined;

    if (def.url === undefined) throw configError(def.id, 'url', 'is required');
    const hashAt = this.syntax === '##' ? -1 : def.url.indexOf('#');
    const base = hashAt === -1 ? def.url : def.url.slice(0, hashAt);
    this.fragment = hashAt === -1 ? '' : def.url.slice(hashAt);
    this.url = this.template(base, 'url');
    this.urlHasQuery = base.includes('?');

    // Preset params fill in only for a bare GET URL: a URL with its own macros is taken as complete.
    const params = input.params ?? (this.method === 'GET' && this.url.isStatic ? preset?.defaults.params : undefined) ?? {};
    // A parameter's whole value is data: its literal text is encoded too (once, here).
    this.params = Object.entries(params).map(
      ([name, value]) => [encodeUriStrict(name), this.template(String(value), `params.${name}`, this.syntax, encodeUriStrict)] as const,
    );
    this.headers = Object.entries(def.headers ?? {}).map(
      ([name, value]) => [name.toLowerCase(), this.template(value, `headers.${name}`)] as const,
    );
    if (this.method === 'POST') {
      this.body = def.body === null || def.body === undefined ? undefined : this.jsonTemplate(def.body);
    }

    const signing = def.signing ?? undefined;
    this.webhookSigner = undefined;
    this.hashSign = undefined;
    if (signing?.scheme === 'standard-webhooks') {
      try {
        this.webhookSigner = new StandardWebhooksSigner(signing.secret);
      } catch (err) {
        if (err instanceof ValidationError) throw configError(def.id, 'signing.secret', 'must be "whsec_" + base64 of at least 16 bytes');
        throw err;
      }
    } else if (signing?.scheme === 'hash') {
      const plain = !signing.algorithm.startsWith('hmac-');
      this.hashSign = {
        param: encodeUriStrict(signing.param),
        // Field names, not templates: always read in the {} dialect, whatever macro_syntax is.
        over: signing.over === 'url' ? 'url' : signing.over.map((f, i) => this.template(`{${f}}`, `signing.over[${i}]`, '{}')),
        separator: signing.separator,
        plain,
        secret: signing.secret,
        fn: compileHashFunction(signing.algorithm, signing.secret),
      };
    }

    const secretHeaderValues = Object.entries(def.headers ?? {})
      .filter(([k]) => SECRET_HEADER.test(k))
      .map(([, v]) => v);
    this.secrets = [this.securityToken, signing?.secret, ...secretHeaderValues].filter((v): v is string => typeof v === 'string' && v !== '');
    this.masker = new SecretMasker([this.securityToken, signing?.secret, ...secretHeaderValues]);

    this.checkUrlShape();
  }

  /** Why this endpoint does not fire for `event`, or undefined when it does. */
  skipReason(event: PostbackEvent): SkipReason | undefined {
    if (!this.enabled) return 'disabled';
    if (this.events !== undefined && !this.events.has(event.type)) return 'event_type';
    if (this.states !== undefined && (event.state === undefined || !this.states.has(event.state))) return 'state';
    if (event.payout === 0 && !this.allowZeroPayout) return 'zero_payout';
    return undefined;
  }

  /** Renders the request of one postback. Pure but for `{rand}`; no parsing. */
  render(event: PostbackEvent, postbackId: string): RenderedRequest {
    const derived = this.preset?.derive?.(event);
    const values = new PostbackValues(event, postbackId, this.securityToken, derived, this.publisherId);
    let url = this.url.render(values, encodeUriStrict);
    let sep = this.urlHasQuery ? '&' : '?';
    for (const [name, t] of this.params) {
      url += `${sep}${name}=${t.render(values, encodeUriStrict)}`;
      sep = '&';
    }
    if (this.hashSign !== undefined) url += `${sep}${this.hashSign.param}=${this.hashOf(url, values)}`;
    url += this.fragment;
    if (this.url.hasRaw) assertHttpUrl(url, this.id);

    const headers: Record<string, string> = {};
    let body: string | null = null;
    if (this.method === 'POST') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(this.body === undefined ? defaultBody(event) : this.body(values));
    }
    for (const [name, t] of this.headers) headers[name] = t.render(values, stripControl);
    return { method: this.method, url, headers, body };
  }

  /**
   * The ordering key of one postback (ordered endpoints), or undefined when the endpoint is
   * not ordered or the key renders empty (the event lacks the field: nothing to order by).
   */
  orderingKeyOf(event: PostbackEvent, postbackId: string): string | undefined {
    if (this.orderingKey === undefined) return undefined;
    const key = this.orderingKey.render(new PostbackValues(event, postbackId, undefined, this.preset?.derive?.(event), this.publisherId));
    return key === '' ? undefined : key;
  }

  /** Per-attempt headers (Standard Webhooks signs each attempt with a new timestamp). */
  attemptHeaders(request: RenderedRequest, postbackId: string, nowMs: number): Record<string, string> | undefined {
    return this.webhookSigner?.headers(postbackId, request.body ?? '', Math.floor(nowMs / 1000));
  }

  /** The request as history and the API may show it: secrets masked. */
  maskRequest(request: RenderedRequest): RenderedRequest {
    return this.masker.maskRequest(request);
  }

  /** The request as history keeps it for replay: secrets swapped for placeholders. */
  tokenizeRequest(request: RenderedRequest): RenderedRequest {
    return this.masker.tokenizeRequest(request);
  }

  /** A tokenized request with this endpoint's current secrets put back (replay). */
  restoreRequest(request: RenderedRequest): RenderedRequest {
    return this.masker.restoreRequest(request);
  }

  /** The definition as the API shows it: every secret masked. */
  toPublic(): EndpointDefinition {
    const d = structuredClone(this.definition);
    if (d.security_token) d.security_token = MASK;
    if (d.signing) d.signing = { ...d.signing, secret: MASK };
    if (d.headers) for (const k of Object.keys(d.headers)) if (SECRET_HEADER.test(k)) d.headers[k] = MASK;
    return d;
  }

  private hashOf(url: string, values: MacroSource): string {
    const h = this.hashSign!;
    if (h.over === 'url') return h.fn(url);
    let message = h.over.map((t) => t.render(values)).join(h.separator);
    if (h.plain && h.secret !== '') message += h.separator;
    return h.fn(message);
  }

  private template(source: string, field: string, syntax: MacroSyntax = this.syntax, encodeLiterals?: (s: string) => string): CompiledTemplate {
    try {
      return new CompiledTemplate(source, syntax, encodeLiterals);
    } catch (err) {
      if (err instanceof TemplateSyntaxError) throw configError(this.id, field, err.message);
      throw err;
    }
  }

  /**
   * Always the {} dialect (a preset's default must not turn into literal text under another
   * macro_syntax). A key must name the event: a static one would order the whole endpoint,
   * a per-postback one nothing, and a secret must not be stored in every record.
   */
  private compileOrderingKey(source: string): CompiledTemplate {
    const t = this.template(source, 'ordering_key', '{}');
    if (t.isStatic) throw configError(this.id, 'ordering_key', `must name at least one macro, e.g. "{click_id}", got ${JSON.stringify(source)}`);
    const bad = t.macros.find((m) => NOT_ORDERING_MACROS.has(m.name));
    if (bad !== undefined) throw configError(this.id, 'ordering_key', `must not use {${bad.name}}: ${NOT_ORDERING_MACROS.get(bad.name)!}`);
    return t;
  }

  private jsonTemplate(body: unknown): JsonRenderer {
    try {
      return compileJsonTemplate(body, this.syntax);
    } catch (err) {
      if (err instanceof TemplateSyntaxError) throw configError(this.id, 'body', err.message);
      throw err;
    }
  }

  /** The URL must be http(s) whatever the macros hold: check it with placeholder values. */
  private checkUrlShape(): void {
    const probe: MacroSource = { resolve: () => 'x' };
    const url = this.url.render(probe, encodeUriStrict) + this.fragment;
    if (this.url.singleMacro?.raw) return; // the whole URL comes from the event; checked per render
    assertHttpUrl(url, this.id);
  }
}

/** Macros an ordering key may not use, and why. */
const NOT_ORDERING_MACROS: ReadonlyMap<string, string> = new Map([
  ['security_token', 'it is a secret, and the key is stored with each postback'],
  ['postback_id', 'it differs for every postback, so nothing would be ordered'],
  ['rand', 'it differs for every postback, so nothing would be ordered'],
]);

function assertHttpUrl(url: string, endpointId: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError(endpointId, 'url', `is not a valid absolute URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw configError(endpointId, 'url', `must be http or https, got ${JSON.stringify(parsed.protocol)}`);
  }
}

function configError(endpointId: string, field: string, message: string): EndpointConfigError {
  const detail: ErrorDetail = { path: field, message };
  return new EndpointConfigError(`endpoint ${JSON.stringify(endpointId)}: ${field} ${message}`, [detail]);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Parses and compiles raw endpoint input; errors carry paths under `prefix`. */
export function compileEndpoint(
  input: unknown,
  defaults: EndpointDefaults,
  prefix = 'endpoint',
  options: { inline?: boolean } = {},
): CompiledEndpoint {
  const def = parseEndpointInput(input, prefix);
  try {
    return new CompiledEndpoint(def, defaults, options);
  } catch (err) {
    if (err instanceof EndpointConfigError) {
      const details = err.details.map((d) => ({ path: `${prefix}.${d.path}`, message: d.message }));
      throw new EndpointConfigError(err.message, details);
    }
    throw err;
  }
}

