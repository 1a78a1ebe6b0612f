import { ValidationError } from '../errors/base-error.js';

/** A template that cannot be compiled: unbalanced delimiter, bad macro name, unknown formatter. */
export class TemplateSyntaxError extends ValidationError {
  override readonly code = 'PBD_ERR_TEMPLATE_SYNTAX';
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.position = position;
  }
}
