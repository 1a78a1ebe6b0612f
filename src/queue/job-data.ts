import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { SigningConfig } from '../endpoints/schema.js';
import type { SuccessSpec } from '../endpoints/success-rule.js';
import { JobDataError } from './errors.js';

/**
 * What a delivery job carries (version 2): the rendered request (fixed at enqueue) and the
 * policy the worker needs, so an attempt reads nothing else from Redis. Every pending
 * postback holds one, so fields equal to a default are left out: the postback id is the
 * BullMQ job id, GET / no headers / no body are implied.
 */
export interface DeliveryJobData {
  readonly v: 2;
  /** Endpoint id (the registry's, or the inline target's). */
  readonly ep: string;
  /** URL. */
  readonly u: string;
  /** Method, when not GET. */
  readonly m?: 'POST';
  /** Headers, when any. */
  readonly h?: Readonly<Record<string, string>>;
  /** Body, when any. */
  readonly b?: string;
  /** Per-attempt deadline, ms. */
  readonly to: number;
  /**
   * Retry schedule in seconds. Always stored: producer and workers may run with different
   * RETRY_SCHEDULE values (a rolling change), and `attempts` was set from this one.
   */
  readonly sch: readonly number[];
  /** Success rule, when not the default 2xx. */
  readonly ok?: SuccessSpec;
  /** Standard Webhooks signing: 1 = use the registry endpoint's signer. */
  readonly ws?: 1;
  /** Signing of an inline target, which has no registry entry. */
  readonly sg?: SigningConfig;
  /** Secrets of an inline target, for masking response excerpts (the request holds them anyway). */
  readonly sk?: readonly string[];
  /** Attempts made before this job: set when a postback moves to the slow lane mid-schedule. */
  readonly a0?: number;
  /** Ordered endpoint: a first attempt waits for its ordering key's turn (the record names its chain). */
  readonly oc?: 1;
}

export const JOB_NAME = 'deliver';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What a job needs besides the request: the endpoint's policy, shared by a batch's items. */
export type PolicyData = Omit<DeliveryJobData, 'v' | 'u' | 'm' | 'h' | 'b' | 'a0'>;
type Policy = PolicyData;

/** A lone job's policy, as a batch job stores it (for the retry batch the postback joins). */
export function policyDataOf(d: DeliveryJobData): PolicyData {
  return {
    ep: d.ep,
    to: d.to,
    sch: d.sch,
    ...(d.ok !== undefined ? { ok: d.ok } : {}),
    ...(d.ws !== undefined ? { ws: d.ws } : {}),
    ...(d.sg !== undefined ? { sg: d.sg } : {}),
    ...(d.sk !== undefined ? { sk: d.sk } : {}),
    ...(d.oc !== undefined ? { oc: d.oc } : {}),
  };
}

/** A request as a job stores it: GET / no headers / no body implied. */
export type RequestData = Pick<DeliveryJobData, 'u' | 'm' | 'h' | 'b'>;

/**
 * A batch job (version 3): the first attempts of several postbacks from one produce call,
 * or (with `a`) a later attempt of several postbacks of a degraded or open endpoint that
 * retry together (see batch-processor). A worker from before `a` reads such a job as first
 * attempts, finds each record already `retrying`, and gives each postback a job of its own
 * at its next attempt's time: nothing is lost in a rolling upgrade. An item is `[postback
 * id, policy index]` when its record holds the request as it is sent, so the job does not
 * hold it twice; `[id, policy index, request]` when the record's copy is masked (secrets in
 * it).
 */
export interface BatchJobData {
  readonly v: 3;
  /** Policies, each shared by the items naming its index. */
  readonly p: readonly PolicyData[];
  readonly i: readonly BatchItemData[];
  /** Attempts every item made before this job (absent: none, a batch of first attempts). */
  readonly a?: number;
  /** 1: a real request was sent for every item before (so a last attempt need not be sent despite an open circuit). */
  readonly s?: 1;
}
export type BatchItemData = readonly [id: string, policy: number] | readonly [id: string, policy: number, request: RequestData];

export const BATCH_JOB_NAME = 'batch';

/** Data of any job on a delivery queue. */
export type QueueJobData = DeliveryJobData | BatchJobData;

export function toRequestData(request: RenderedRequest): RequestData {
  return {
    u: request.url,
    ...(request.method === 'POST' ? { m: 'POST' as const } : {}),
    ...(hasKeys(request.headers) ? { h: request.headers } : {}),
    ...(request.body !== null ? { b: request.body } : {}),
  };
}

function fromRequestData(d: RequestData): RenderedRequest {
  return { method: d.m ?? 'GET', url: d.u, headers: d.h ?? NO_HEADERS, body: d.b ?? null };
}

export function toJobData(request: RenderedRequest, policy: Policy): DeliveryJobData {
  return { v: 2, ...toRequestData(request), ...policy };
}


/** A delivery job as the worker reads it: the only reader of the stored letters. */
export interface DeliveryJob {
  readonly endpointId: string;
  readonly request: RenderedRequest;
  readonly timeoutMs: number;
  readonly scheduleS: readonly number[];
  /** Undefined: the default rule (2xx). */
  readonly success: SuccessSpec | undefined;
  /** `endpoint`: sign with the registry endpoint's signer; a config: an inline target's own. */
  readonly signing: 'endpoint' | SigningConfig | undefined;
  /** An inline target's secrets, for masking what the receiver answers. */
  readonly inlineSecrets: readonly string[] | undefined;
  /** Ordered endpoint: a first attempt takes its ordering key's turn first. */
  readonly ordered: boolean;
  /** Attempts made before this job existed (a postback moved to the slow lane). */
  readonly attemptsBefore: number;
}

/** Reads a job's data, checking its version: a job this version cannot read fails, named, not guessed at. */
export function decodeJob(data: unknown): DeliveryJob {
  const d = data as Partial<DeliveryJobData> | null;
  if (d === null || typeof d !== 'object' || d.v !== 2 || typeof d.u !== 'string' || typeof d.ep !== 'string' || typeof d.to !== 'number') {
    const v = d !== null && typeof d === 'object' ? JSON.stringify(d.v) : typeof d;
    throw new JobDataError(`job data version ${v} is not one this worker reads (2): upgrade the worker, or replay the postback`);
  }
  return { ...decodePolicy(d as DeliveryJobData), request: fromRequestData(d as DeliveryJobData), attemptsBefore: d.a0 ?? 0 };
}

/** A job's policy as the worker reads it: a DeliveryJob without its request and attempt count. */
export type DecodedPolicy = Omit<DeliveryJob, 'request' | 'attemptsBefore'>;

function decodePolicy(d: PolicyData): DecodedPolicy {
  return {
    endpointId: d.ep,
    timeoutMs: d.to,
    scheduleS: d.sch ?? [],
    success: d.ok,
    signing: d.ws === 1 ? 'endpoint' : d.sg,
    inlineSecrets: d.sk,
    ordered: d.oc === 1,
  };
}

/** One postback of a batch job as the worker reads it; `request` undefined: the record holds it. */
export interface BatchItem {
  readonly postbackId: string;
  readonly policy: DecodedPolicy;
  /** The policy as stored, for the item's own job (a retry or a lane move). */
  readonly policyData: PolicyData;
  readonly request: RenderedRequest | undefined;
}

/** A batch job as the worker reads it. */
export interface DecodedBatch {
  readonly items: BatchItem[];
  /** Attempts each item made before this job. */
  readonly attemptsBefore: number;
  /** Whether a real request was sent for each item before this job. */
  readonly sentBefore: boolean;
}

/** Reads a batch job's data, checking its version and shape (see decodeJob). */
export function decodeBatch(data: unknown): DecodedBatch {
  const d = data as Partial<BatchJobData> | null;
  if (d === null || typeof d !== 'object' || d.v !== 3 || !Array.isArray(d.p) || !Array.isArray(d.i)) {
    const v = d !== null && typeof d === 'object' ? JSON.stringify(d.v) : typeof d;
    throw new JobDataError(`batch job data version ${v} is not one this worker reads (3): upgrade the worker, or replay its postbacks`);
  }
  const stored: readonly PolicyData[] = d.p;
  const items: readonly BatchItemData[] = d.i;
  const attemptsBefore = d.a ?? 0;
  if (!(Number.isInteger(attemptsBefore) && attemptsBefore >= 0)) throw new JobDataError(`batch job attempts before (a) must be a whole number >= 0, got ${JSON.stringify(d.a)}`);
  const policies = stored.map(decodePolicy);
  const decoded = items.map(([postbackId, p, request]) => {
    const policy = policies[p];
    if (policy === undefined || typeof postbackId !== 'string') throw new JobDataError(`batch job item ${JSON.stringify(postbackId)} names no policy (${p})`);
    return { postbackId, policy, policyData: stored[p]!, request: request === undefined ? undefined : fromRequestData(request) };
  });
  return { items: decoded, attemptsBefore, sentBefore: d.s === 1 };
}

/** The postback ids of a batch job's data, read as leniently as possible (for settling a batch that could not run). */
export function batchPostbackIds(data: unknown): string[] {
  const items = (data as { i?: unknown } | null)?.i;
  if (!Array.isArray(items)) return [];
  return items.flatMap((item: unknown) => (Array.isArray(item) && typeof item[0] === 'string' ? [item[0]] : []));
}

/** A batch item as a job of its own (a retry or a lane move), `attemptsBefore` attempts made. */
export function itemJobData(policy: PolicyData, request: RenderedRequest, attemptsBefore: number): DeliveryJobData {
  const data = toJobData(request, policy);
  return attemptsBefore > 0 ? withAttemptsBefore(data, attemptsBefore) : data;
}

/** The same job data with the attempts made before it (a lane move). */
export function withAttemptsBefore(data: DeliveryJobData, attempts: number): DeliveryJobData {
  return { ...data, a0: attempts };
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
