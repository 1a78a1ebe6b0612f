// The detail of one postback (GET /v1/postbacks/:id): its fields, the request as sent, every
// attempt; Replay and Test endpoint. Escape or Close gives focus back to its row.
import { apiJson } from './api-client.js';
import { $, badge, clear, dash, el, setStatus } from './dom.js';
import { testEndpointInto } from './endpoint-test.js';
import { errorText, fmtClock, fmtPayout, fmtTime, prettyBody } from './format.js';
import { describeFilters } from './history-filters.js';
import { list, loadList, markSelected, rowById } from './history-list.js';
import { hideMessage, reportError } from './messages.js';

// fromRow: the list row that opened the detail, by postback id; focus goes back to it on close.
const detail = { id: null, record: null, seq: 0, fromRow: null };

export function isDetailOpen() {
  return !$('detail').hidden;
}

function idButton(id) {
  const b = el('button', { type: 'button', className: 'link', 'data-open': String(id) }, String(id));
  b.addEventListener('click', () => openDetail(String(id)));
  return b;
}

function renderFields(r) {
  const dl = $('detail-fields');
  clear(dl);
  const field = (name, value) => {
    dl.appendChild(el('dt', null, name));
    dl.appendChild(el('dd', { 'data-field': name }, value));
  };
  field('id', el('code', null, dash(r.id)));
  field('event_id', dash(r.event_id));
  field('endpoint_id', dash(r.endpoint_id));
  if (r.publisher_id !== undefined) field('publisher_id', dash(r.publisher_id));
  field('status', dash(r.status));
  if (r.offer_id !== undefined) field('offer_id', dash(r.offer_id));
  if (r.payout !== undefined) field('payout', fmtPayout(r.payout, r.currency));
  field('created_at', el('span', { title: dash(r.created_at) }, fmtTime(r.created_at) + '  (' + dash(r.created_at) + ')'));
  field('finished_at', el('span', { title: dash(r.finished_at) }, r.finished_at ? fmtTime(r.finished_at) + '  (' + r.finished_at + ')' : '\u2014'));
  if (r.next_attempt_at) field('next_attempt_at', fmtTime(r.next_attempt_at) + '  (' + r.next_attempt_at + ')');
  if (r.delay_s) field('delay_s', String(r.delay_s));
  if (r.replay_of) field('replay_of', idButton(r.replay_of));
}

function renderRequest(req) {
  $('detail-request-method').textContent = dash(req.method);
  $('detail-request-url').textContent = dash(req.url);
  const hs = $('detail-request-headers');
  clear(hs);
  const headers = req.headers && typeof req.headers === 'object' ? req.headers : {};
  Object.keys(headers).forEach((name) => {
    hs.appendChild(document.createTextNode('\n'));
    hs.appendChild(el('span', { className: 'hname' }, name + ':'));
    hs.appendChild(document.createTextNode(' ' + headers[name]));
  });
  const body = prettyBody(req.body);
  $('detail-request-body').textContent = body ? '\n\n' + body : '';
}

function attemptRow(a) {
  const result = el('td', { 'data-col': 'result' });
  if (a.error) {
    result.appendChild(el('span', { className: 'err', 'data-testid': 'attempt-error' }, errorText(a)));
    result.appendChild(document.createTextNode(' '));
    result.appendChild(el('code', { className: 'errcode', title: 'error class' }, String(a.error)));
    if (a.phase) result.appendChild(el('div', { className: 'muted phase', 'data-col': 'phase', title: 'where it failed' }, 'in ' + a.phase));
  } else result.appendChild(el('span', { className: 'badge ok' }, 'ok'));
  if (a.location) result.appendChild(el('div', { className: 'muted' }, 'Location: ' + a.location));
  if (a.retry_after_ms !== undefined && a.retry_after_ms !== null) result.appendChild(el('div', { className: 'muted' }, 'Retry-After: ' + a.retry_after_ms + ' ms'));
  return el('tr', { 'data-testid': 'attempt-row' },
    el('td', { className: 'num', 'data-col': 'n' }, dash(a.n)),
    el('td', { 'data-col': 'started', title: dash(a.started_at) }, fmtClock(a.started_at)),
    el('td', { className: 'num', 'data-col': 'duration' }, a.duration_ms === undefined || a.duration_ms === null ? '\u2014' : a.duration_ms + ' ms'),
    el('td', { className: 'num', 'data-col': 'status_code' }, dash(a.status_code)),
    result,
    el('td', { 'data-col': 'excerpt' }, a.response_excerpt ? el('pre', null, String(a.response_excerpt)) : '\u2014'));
}

function renderDetail(r) {
  $('detail-id').textContent = r.id;
  clear($('detail-status'));
  $('detail-status').appendChild(badge(r.status));
  renderFields(r);
  renderRequest(r.request || {});
  const attempts = Array.isArray(r.attempts) ? r.attempts : [];
  $('attempt-count').textContent = '(' + attempts.length + ')';
  const tbody = $('attempt-rows');
  clear(tbody);
  attempts.forEach((a) => tbody.appendChild(attemptRow(a)));
  $('attempts-empty').hidden = attempts.length !== 0;

  const inline = r.endpoint_id === 'inline';
  const test = $('test-endpoint');
  test.disabled = inline || !r.endpoint_id;
  test.title = inline ? 'Inline targets have no stored endpoint to test' : 'One synchronous test request to endpoint ' + r.endpoint_id + ' with a sample event';
  test.textContent = inline ? 'Test endpoint' : 'Test endpoint ' + r.endpoint_id;
}

/** Opens (or reloads) the detail of postback `id`; `fromRow` (a postback id) gets focus back on close. */
export async function openDetail(id, fromRow) {
  if (fromRow) detail.fromRow = fromRow;
  const wasOpen = isDetailOpen();
  const seq = ++detail.seq;
  const switching = detail.id !== id;
  detail.id = id;
  list.selected = id;
  markSelected();
  $('detail').hidden = false;
  document.body.classList.add('detail-open');
  if (!wasOpen && fromRow) $('detail-title').focus();
  if (switching) {
    $('replay-result').hidden = true;
    $('test-result').hidden = true;
    $('detail-id').textContent = id;
  }
  try {
    const r = await apiJson('v1/postbacks/' + encodeURIComponent(id));
    if (seq !== detail.seq) return;
    detail.record = r;
    renderDetail(r);
  } catch (e) {
    if (seq === detail.seq) reportError(e);
  }
}

/** Reloads the open detail, if any. */
export function reloadDetail() {
  if (detail.id) openDetail(detail.id);
}

export function closeDetail() {
  detail.seq++;
  detail.id = null;
  detail.record = null;
  list.selected = null;
  $('detail').hidden = true;
  document.body.classList.remove('detail-open');
  markSelected();
  const back = detail.fromRow ? rowById(detail.fromRow) : null;
  detail.fromRow = null;
  if (back) back.focus();
}

async function replay() {
  if (!detail.id) return;
  const id = detail.id;
  const btn = $('replay');
  btn.disabled = true;
  try {
    const res = await apiJson('v1/postbacks/' + encodeURIComponent(id) + '/replay', { method: 'POST', body: {} });
    const box = $('replay-result');
    clear(box);
    const open = idButton(res.id);
    open.id = 'replay-new-id';
    box.append(el('span', null, 'Replay enqueued as '), open, el('span', { className: 'muted' }, ' (replay of ' + dash(res.replay_of || id) + ')'));
    box.hidden = false;
    hideMessage();
    const openNew = idButton(res.id);
    openNew.id = 'status-open-replay';
    setStatus('Replayed ', el('code', null, String(id)), ' as ', openNew, ' \u2014 list refreshed');
    await loadList();
    if (!rowById(String(res.id))) {
      $('status').appendChild(document.createTextNode(' (the new postback is not in this list: ' + describeFilters(list.query).replace(/^Filters: /, 'filtered by ') + ')'));
    }
  } catch (e) {
    reportError(e);
  } finally {
    btn.disabled = false;
  }
}

async function testEndpoint() {
  const r = detail.record;
  if (!r || !r.endpoint_id) return;
  const btn = $('test-endpoint');
  btn.disabled = true;
  try {
    await testEndpointInto($('test-result'), r.endpoint_id);
  } finally {
    btn.disabled = r.endpoint_id === 'inline';
  }
}

/** Wires the detail's buttons, the rows that open it, and Escape. */
export function wireDetail() {
  $('detail-close').addEventListener('click', closeDetail);
  $('detail-reload').addEventListener('click', reloadDetail);
  $('replay').addEventListener('click', replay);
  $('test-endpoint').addEventListener('click', testEndpoint);
  const rows = $('rows');
  rows.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) openDetail(tr.dataset.id, tr.dataset.id);
  });
  rows.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const tr = ev.target.closest('tr[data-id]');
    if (tr) { ev.preventDefault(); openDetail(tr.dataset.id, tr.dataset.id); }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !$('key-panel').open && isDetailOpen()) closeDetail();
  });
}
