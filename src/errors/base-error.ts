/**
 * The one base class of every error this project throws on purpose.
 * Callers branch on `code` (stable, documented in docs/errors.md), never on `message`.
 */
export interface ErrorDetail {
  path: string;
  message: string;
}

export abstract class PostbackError extends Error {
  abstract readonly code: string;
  /** HTTP status the API answers with when this error reaches it. */
  readonly statusCode: number = 500;
  readonly details: ErrorDetail[];

  constructor(message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export function isPostbackError(err: unknown): err is PostbackError {
  return err instanceof PostbackError;
}

/** Invalid input from a user: a bad event, endpoint, template, config value or query. */
export class ValidationError extends PostbackError {
  readonly code: string = 'PBD_ERR_VALIDATION';
  override readonly statusCode = 400;
}

export class NotFoundError extends PostbackError {
  readonly code = 'PBD_ERR_NOT_FOUND';
  override readonly statusCode = 404;
}

/** Redis (or another dependency) cannot take the work now; nothing was accepted. */
export class UnavailableError extends PostbackError {
  readonly code = 'PBD_ERR_UNAVAILABLE';
  override readonly statusCode = 503;
}

/** Short printable form of a user-supplied value for error messages. */
export function describeValue(value: unknown): string {
  let text: string;
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') text = JSON.stringify(value);
  else {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      // circular, BigInt: String() below
    }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the fallback for what JSON cannot show (function, symbol, circular, BigInt)
    text = json ?? String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
