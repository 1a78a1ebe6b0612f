import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Redaction paths, compiled once by pino. Log calls pass ids and codes, never requests,
 * but anything that looks like a secret is cut here too, as a second line.
 */
export const REDACT_PATHS = [
  'security_token',
  '*.security_token',
  'secret',
  '*.secret',
  '*.*.secret',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
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
