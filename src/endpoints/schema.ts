import { z } from 'zod';
import { ValidationError, describeValue, type ErrorDetail } from '../errors/base-error.js';
import { MAX_SCHEDULE_ENTRIES, MAX_SCHEDULE_STEP_S } from '../config/retry-schedule.js';
import { MACRO_SYNTAXES, parseMacroSyntax } from '../templates/syntax.js';

const ref = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(z.string().regex(/^[A-Za-z0-9._~:@-]{1,128}$/, 'must be 1-128 chars of A-Za-z0-9._~:@-'));

const statusMatcher = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]xx$|^[1-5][0-9]{2}$/, 'must be a status code or a class like "2xx"'),
]);

export const HASH_ALGORITHMS = ['md5', 'sha1', 'sha256', 'hmac-sha1', 'hmac-sha256'] as const;

const signingSchema = z.discriminatedUnion('scheme', [
  z.object({
    scheme: z.literal('standard-webhooks'),
    secret: z.string().min(4).max(512),
  }),
  z.object({
    scheme: z.literal('hash'),
    algorithm: z.enum(HASH_ALGORITHMS),
    over: z.union([z.literal('url'), z.array(z.string().min(1).max(128)).min(1).max(50)]).default('url'),
    param: z.string().regex(/^[A-Za-z0-9._~-]{1,64}$/).default('hash'),
    secret: z.union([z.literal(''), z.string().min(4).max(512)]).default(''),
    /** Joins listed fields (and the secret, last): "" by default, ":" for id:user:amount:secret. */
    separator: z.string().max(8).default(''),
  }),
]);

const macroSyntax = z
  .string()
  .transform((s, ctx) => {
    const parsed = parseMacroSyntax(s);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be one of ${MACRO_SYNTAXES.join(' ')}` });
      return z.NEVER;
    }
    return parsed;
  });

const jsonBody = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()), z.string()]);

/**
 * An endpoint as a user writes it (file, API, inline target). Every field is optional
 * here but `id` (or, for inline targets, nothing): presets fill defaults before the
 * complete definition is checked by `completeEndpointSchema`.
 */
export const endpointInputSchema = z
  .object({
    id: ref,
    publisher_id: ref.optional(),
    preset: z.string().max(64).optional(),
    enabled: z.boolean().optional(),
    method: z.enum(['GET', 'POST']).optional(),
    url: z.string().min(1).max(8192).optional(),
    body: jsonBody.nullable().optional(),
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'must be a valid header name'),
        z.string().max(8192).regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL'),
      )
      .optional(),
    params: z
      .record(z.string().min(1).max(128), z.union([z.string().max(4096), z.number(), z.boolean()]))
      .optional(),
    events: z.array(z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'an event type is 1-64 chars of a-z 0-9 _ . -')).max(100).optional(),
    states: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a state is 1-64 chars of A-Za-z 0-9 _ . -')).max(100).optional(),
    allow_zero_payout: z.boolean().optional(),
    macro_syntax: macroSyntax.optional(),
    // At least 4 characters: shorter values could not be masked without masking everything.
    security_token: z.string().min(4).max(512).nullable().optional(),
    signing: signingSchema.nullable().optional(),
    timeout_ms: z.number().int().min(1000).max(30000).optional(),
    retry_schedule: z.array(z.number().min(0).max(MAX_SCHEDULE_STEP_S)).min(1).max(MAX_SCHEDULE_ENTRIES).optional(),
    success: z
      .object({
        status: z.array(statusMatcher).min(1).max(50).optional(),
        body_contains: z.string().min(1).max(1024).optional(),
      })
      .optional(),
    delay_s: z.number().min(0).max(300).optional(),
    /** A template in the {} dialect: postbacks rendering the same key go one at a time, in order. */
    ordering_key: z.string().min(1).max(512).nullable().optional(),
    description: z.string().max(1024).optional(),
  })
  .strict();

export type EndpointInput = z.input<typeof endpointInputSchema>;
export type EndpointDefinition = z.output<typeof endpointInputSchema>;
export type SigningConfig = z.output<typeof signingSchema>;

/** Turns zod issues into our details: the path, the message and the value found there. */
export function issuesToDetails(error: z.ZodError, input: unknown, prefix: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
      .join('')
      .replace(/^\./, '');
    let value: unknown = input;
    for (const p of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p] : undefined;
    const secretish = issue.path.some((p) => /secret|token|authorization|key/i.test(String(p)));
    const shown = secretish ? '' : `, got ${describeValue(value)}`;
    return { path, message: `${issue.message}${issue.code === 'unrecognized_keys' ? '' : shown}` };
  });
}

/** Parses an endpoint definition, or throws a ValidationError naming each field and value. */
export function parseEndpointInput(input: unknown, prefix = 'endpoint'): EndpointDefinition {
  const result = endpointInputSchema.safeParse(input);
  if (result.success) return result.data;
  const details = issuesToDetails(result.error, input, prefix);
  throw new ValidationError(`invalid endpoint: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}
