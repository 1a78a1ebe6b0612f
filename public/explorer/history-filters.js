// The Postbacks view's filters: reading them into a query, describing them, the date range
// shortcuts, and the endpoint and publisher pickers (from GET /v1/endpoints).
import { ApiError, apiJson } from './api-client.js';
import { $, el } from './dom.js';
import { fmtTime, toLocalInput } from './format.js';
import { reportError } from './messages.js';

export const FILTER_INPUTS = ['filter-from', 'filter-to', 'filter-endpoint', 'filter-publisher', 'filter-event', 'filter-status'];

function localToIso(value, name) {
  if (!value) return '';
  const d = new Date(value); // datetime-local has no zone: parsed as local time
  if (isNaN(d.getTime())) throw new ApiError('Invalid ' + name + ' date', [{ path: name, message: 'not a valid date and time' }]);
  return d.toISOString();
}

/** The filters as entered, as a query; throws ApiError for a bad date range. */
export function readFilters() {
  const q = new URLSearchParams();
  const from = localToIso($('filter-from').value, 'from');
  const to = localToIso($('filter-to').value, 'to');
  if (from && to && Date.parse(from) > Date.parse(to)) {
    throw new ApiError('"From" is after "To"', [{ path: 'from', message: 'must not be after to' }]);
  }
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  if ($('filter-status').value) q.set('status', $('filter-status').value);
  if ($('filter-endpoint').value) q.set('endpoint_id', $('filter-endpoint').value);
  if ($('filter-publisher').value) q.set('publisher_id', $('filter-publisher').value);
  const ev = $('filter-event').value.trim();
  if (ev) q.set('event_id', ev);
  return q;
}

/** The date range shortcuts: from the start of the range to now (to left open). */
export function setRange(name) {
  const now = new Date();
  const from = name === '24h' ? new Date(now.getTime() - 86400000)
    : name === '7d' ? new Date(now.getTime() - 7 * 86400000)
    : new Date(now.getFullYear(), now.getMonth(), 1);
  $('filter-from').value = toLocalInput(from);
  $('filter-to').value = '';
}

/** The filters of a query string in words, as the bar shows them. */
export function describeFilters(qs) {
  const q = new URLSearchParams(qs || '');
  const parts = [];
  if (q.get('status')) parts.push('status ' + q.get('status'));
  if (q.get('endpoint_id')) parts.push('endpoint ' + q.get('endpoint_id'));
  if (q.get('publisher_id')) parts.push('publisher ' + q.get('publisher_id'));
  if (q.get('event_id')) parts.push('event ' + q.get('event_id'));
  if (q.get('from')) parts.push('from ' + fmtTime(q.get('from')));
  if (q.get('to')) parts.push('to ' + fmtTime(q.get('to')));
  return parts.length ? 'Filters: ' + parts.join(', ') : 'Filters: none';
}

/** Fills a picker with values, keeping "any" and the current choice. */
function fillPicker(select, values) {
  const current = select.value;
  while (select.options.length > 1) select.remove(1);
  values.forEach((v) => select.appendChild(el('option', { value: v }, v)));
  if (current && values.indexOf(current) < 0) select.appendChild(el('option', { value: current }, current));
  select.value = current;
}

/** Endpoint and publisher pickers from GET /v1/endpoints (a publisher key sees its own). */
export async function loadPickers() {
  let endpoints;
  try {
    const res = await apiJson('v1/endpoints');
    endpoints = Array.isArray(res.endpoints) ? res.endpoints : [];
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) reportError(e);
    return;
  }
  const ids = endpoints.map((ep) => String(ep.id)).sort();
  const pubs = new Set();
  endpoints.forEach((ep) => { if (ep.publisher_id !== null && ep.publisher_id !== undefined) pubs.add(String(ep.publisher_id)); });
  fillPicker($('filter-endpoint'), ids);
  fillPicker($('filter-publisher'), [...pubs].sort());
}
