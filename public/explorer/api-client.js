// Calls to the dispatcher's API with the key; errors as ApiError (SPEC's {"error", "details"}).
import { askKey, forgetKey, getKey } from './api-key.js';

export class ApiError extends Error {
  constructor(message, details, status) {
    super(message);
    this.details = details || [];
    this.status = status || 0;
  }
}

/** fetch() of an API path (relative to the page), JSON body; a 401 forgets the key and asks again. */
export async function api(path, options = {}) {
  const headers = {};
  const key = getKey();
  if (key) headers['Authorization'] = 'Bearer ' + key;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method: options.method || 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError('Network error: the API did not answer (' + (e && e.message ? e.message : e) + ')');
  }
  if (res.status === 401) {
    forgetKey();
    askKey('The API refused this key (401). Enter a valid key.');
    throw new ApiError('Unauthorized', [], 401);
  }
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    const msg = body && typeof body.error === 'string' ? body.error : 'HTTP ' + res.status + ' ' + res.statusText;
    throw new ApiError(msg, body && Array.isArray(body.details) ? body.details : [], res.status);
  }
  return res;
}

export async function apiJson(path, options) {
  return (await api(path, options)).json();
}

/** The path of an endpoint's route: v1/endpoints/ID plus `suffix` ("/test", "/enable"). */
export function endpointPath(id, suffix) {
  return 'v1/endpoints/' + encodeURIComponent(id) + (suffix || '');
}
