/** How a macro value becomes text: missing is empty, objects are JSON, numbers as JS prints them. */
export function valueToText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : '';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
      return '';
    case 'object':
      return value === null ? '' : JSON.stringify(value);
    default:
      return '';
  }
}
