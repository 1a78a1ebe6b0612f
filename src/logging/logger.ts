import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Redaction paths, compiled once by pino. Log calls pass ids and codes, never requests,
 * but the top-level names a request or secret would travel under are cut here too, as a
 * second line. Fixed paths only: wildcards cost on every log call.
 */
export const REDACT_PATHS = [
  'security_token',
  'secret',
  'authorization',
  'headers.authorization',
  'request.url',
  'request.headers',
  'request.body',
  'url',
] as const;

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
