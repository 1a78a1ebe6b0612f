import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { UnavailableError, isPostbackError } from '../errors/base-error.js';
import type { Logger } from '../logging/logger.js';
import { isRedisUnavailable } from '../redis/redis-unavailable.js';

/** SPEC's error shape: {"error": "...", "details": [{"path", "message"}]}. */
export function errorBody(error: string, details: { path: string; message: string }[] = []): Record<string, unknown> {
  return { error, details };
}

/**
 * The API's one error handler. A PostbackError answers with its own status; Redis being
 * unreachable (whichever route hit it) is 503 PBD_ERR_UNAVAILABLE, the shape POST
 * /v1/events gives; fastify's own 4xx pass through; anything else is a bug: 500, logged
 * with its stack.
 */
export function createErrorHandler(logger: Logger) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (isPostbackError(err)) {
      void reply.code(err.statusCode).send(errorBody(err.message, err.details));
      return;
    }
    if (isRedisUnavailable(err)) {
      const unavailable = new UnavailableError(`Redis unavailable: ${err.message}`);
      logger.warn({ err: err.message, route: request.routeOptions.url }, 'Redis unavailable: answered 503');
      void reply.code(unavailable.statusCode).send(errorBody(unavailable.message, unavailable.details));
      return;
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      void reply.code(413).send(errorBody('request body exceeds 1 MiB', [{ path: '(body)', message: 'too large' }]));
      return;
    }
    if (err.validation) {
      const details = err.validation.map((v) => ({
        path: `${err.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`,
        message: v.message ?? 'invalid',
      }));
      void reply.code(400).send(errorBody(err.message, details));
      return;
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      void reply.code(status).send(errorBody(err.message, [{ path: '(request)', message: err.code ?? 'bad request' }]));
      return;
    }
    logger.error({ err, route: request.routeOptions.url }, 'unhandled API error');
    void reply.code(500).send(errorBody('internal error'));
  };
}
