import { readFile } from 'node:fs/promises';
import { ValidationError, type ErrorDetail } from '../errors/base-error.js';
import { compileEndpoint, type EndpointDefaults } from './compile-endpoint.js';

/**
 * Reads an endpoints file (a JSON array, or `{"endpoints": [...]}`) and checks every
 * entry. Throws one ValidationError listing every problem with its path in the file.
 */
export async function readEndpointsFile(path: string, defaults: EndpointDefaults): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`${path}: cannot read endpoints file: ${(err as Error).message}`, [
      { path, message: 'cannot be read' },
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${path}: not valid JSON: ${(err as Error).message}`, [{ path, message: 'is not valid JSON' }]);
  }
  const list: unknown[] | undefined = Array.isArray(parsed)
    ? parsed
    : parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { endpoints?: unknown }).endpoints)
      ? (parsed as { endpoints: unknown[] }).endpoints
      : undefined;
  if (list === undefined) {
    throw new ValidationError(`${path}: must be a JSON array of endpoints or {"endpoints": [...]}`, [
      { path, message: 'must be an array of endpoints' },
    ]);
  }
  const details: ErrorDetail[] = [];
  const ids = new Set<string>();
  list.forEach((entry, i) => {
    try {
      const ep = compileEndpoint(entry, defaults, `endpoints[${i}]`);
      if (ids.has(ep.id)) details.push({ path: `endpoints[${i}].id`, message: `duplicate id ${JSON.stringify(ep.id)}` });
      ids.add(ep.id);
    } catch (err) {
      if (err instanceof ValidationError) details.push(...err.details);
      else throw err;
    }
  });
  if (details.length > 0) {
    throw new ValidationError(
      `${path}: ${details.length} invalid endpoint field(s):\n${details.map((d) => `  ${d.path}: ${d.message}`).join('\n')}`,
      details.map((d) => ({ path: `${path}: ${d.path}`, message: d.message })),
    );
  }
  return list;
}
