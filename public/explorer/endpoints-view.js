// The Endpoints view (GET /v1/endpoints): each endpoint's health state, postbacks in the last
// 24 h (GET /v1/stats), success rate and p99 over 5 minutes, last error, and Disable / Enable.
import { apiJson, endpointPath } from './api-client.js';
import { $, clear, dash, el, setStatus } from './dom.js';
import { fmtTime, pct } from './format.js';
import { hideMessage, reportError } from './messages.js';

let seqNow = 0;
/** The last 24 h volumes read, for a row drawn again after Enable / Disable. */
let lastVolumes;
let onEdit = () => {};

/** A health state as a coloured badge. */
export function healthBadge(state) {
  const s = String(state || 'healthy');
  const cls = s === 'healthy' ? 'ok' : s === 'degraded' ? 'retrying' : s === 'open' ? 'bad' : 'queued';
  return el('span', { className: 'badge ' + cls, 'data-testid': 'health-state' }, s);
}

/** Whether an endpoint (as GET /v1/endpoints shows it) is disabled. */
export function isDisabled(ep) {
  return (ep.health && ep.health.state === 'disabled') || ep.enabled === false;
}

/** Enables or disables endpoint `id`: the endpoint with its health, and a status message. */
export async function switchEndpoint(id, enable) {
  const ep = await apiJson(endpointPath(id, enable ? '/enable' : '/disable'), { method: 'POST', body: {} });
  setStatus((enable ? 'Enabled ' : 'Disabled ') + id + (enable ? '' : ': new events skip it, its pending postbacks end failed'));
  return ep && ep.id ? ep : { id, health: { state: enable ? 'healthy' : 'disabled' } };
}

/**
 * Postbacks created in the last 24 h: `counts` per endpoint id, and whether the stats read only
 * part of the range (then each count is a floor). Undefined when the stats cannot be read.
 */
async function volumes24h() {
  const now = Date.now();
  try {
    const st = await apiJson('v1/stats?from=' + encodeURIComponent(new Date(now - 86_400_000).toISOString()) + '&to=' + encodeURIComponent(new Date(now).toISOString()) + '&bucket=1d');
    const counts = new Map((st.endpoints || []).map((e) => [e.endpoint_id, e.delivered + e.failed + e.retrying + e.queued]));
    return { counts, truncated: st.truncated === true };
  } catch {
    return undefined;
  }
}

function volumeCell(volumes, id) {
  if (volumes === undefined) return el('td', { 'data-col': 'volume', className: 'num', title: 'stats not available' }, '\u2014');
  const n = volumes.counts.get(id) || 0;
  return el('td', { 'data-col': 'volume', className: 'num', title: volumes.truncated ? 'at least (the stats read part of the range)' : '' }, n.toLocaleString('en-US') + (volumes.truncated ? '+' : ''));
}

function endpointRow(ep, volumes) {
  const h = ep.health || {};
  const disabled = isDisabled(ep);
  const toggle = el('button', { type: 'button', 'data-testid': 'endpoint-toggle', 'aria-label': (disabled ? 'Enable ' : 'Disable ') + ep.id }, disabled ? 'Enable' : 'Disable');
  toggle.addEventListener('click', () => toggleEndpoint(ep.id, disabled, toggle));
  const edit = el('button', { type: 'button', 'data-testid': 'endpoint-edit', 'data-id': String(ep.id), 'aria-label': 'Edit ' + ep.id }, 'Edit');
  edit.addEventListener('click', () => onEdit(String(ep.id), edit));
  const lastErr = h.last_error ? el('span', null, el('code', null, String(h.last_error)), h.last_error_at ? el('span', { className: 'muted' }, ' ' + fmtTime(h.last_error_at)) : null) : '\u2014';
  return el('tr', { 'data-testid': 'endpoint-row', dataset: { id: String(ep.id) } },
    el('td', { 'data-col': 'id' }, el('code', null, String(ep.id))),
    el('td', { 'data-col': 'publisher' }, dash(ep.publisher_id)),
    el('td', { 'data-col': 'state', title: h.disabled_reason ? 'disabled: ' + h.disabled_reason : '' }, healthBadge(disabled ? 'disabled' : h.state)),
    volumeCell(volumes, String(ep.id)),
    el('td', { 'data-col': 'success', className: 'num', title: dash(h.attempts_5m) + ' attempts in 5 min' }, pct(h.success_rate_5m)),
    el('td', { 'data-col': 'p99', className: 'num' }, h.latency_p99_ms === null || h.latency_p99_ms === undefined ? '\u2014' : h.latency_p99_ms + ' ms'),
    el('td', { 'data-col': 'last-error' }, lastErr),
    el('td', { 'data-col': 'action', className: 'actions-cell' }, edit, ' ', toggle));
}

/** The focused button in the rows, by its row's endpoint and its kind: it keeps focus when the rows are drawn again. */
function focusedButton(tbody) {
  const a = document.activeElement;
  const tr = a && tbody.contains(a) ? a.closest('tr') : null;
  return tr ? { id: tr.dataset.id, testid: a.dataset.testid } : null;
}

export async function loadEndpoints() {
  const seq = ++seqNow;
  try {
    const [res, volumes] = await Promise.all([apiJson('v1/endpoints'), volumes24h()]);
    lastVolumes = volumes;
    if (seq !== seqNow) return;
    const eps = Array.isArray(res.endpoints) ? res.endpoints : [];
    const tbody = $('endpoint-rows');
    const was = focusedButton(tbody);
    clear(tbody);
    eps.forEach((ep) => tbody.appendChild(endpointRow(ep, volumes)));
    if (was) {
      const again = tbody.querySelector('tr[data-id="' + CSS.escape(was.id) + '"] [data-testid="' + was.testid + '"]');
      if (again) again.focus();
    }
    $('endpoints-empty').hidden = eps.length !== 0;
    hideMessage();
  } catch (e) {
    if (seq === seqNow) reportError(e);
  }
}

async function toggleEndpoint(id, enable, btn) {
  btn.disabled = true;
  try {
    const row = endpointRow(await switchEndpoint(id, enable), lastVolumes);
    const old = btn.closest('tr');
    if (old) old.replaceWith(row);
    row.querySelector('[data-testid=endpoint-toggle]').focus();
  } catch (e) {
    btn.disabled = false;
    reportError(e);
  }
}

/** Wires Refresh; `edit(id, button)` opens the settings of an endpoint (its row's Edit button). */
export function wireEndpointsView(edit) {
  onEdit = edit;
  $('endpoints-refresh').addEventListener('click', loadEndpoints);
}
