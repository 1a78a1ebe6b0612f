import { NotFoundError, ValidationError } from '../errors/base-error.js';

export class EndpointConfigError extends ValidationError {
  override readonly code = 'PBD_ERR_ENDPOINT_CONFIG';
}

export class EndpointNotFoundError extends NotFoundError {}

/** An event names an endpoint or publisher that does not exist, or matches nothing. */
export class UnroutableEventError extends ValidationError {
  override readonly code = 'PBD_ERR_UNROUTABLE_EVENT';
}
