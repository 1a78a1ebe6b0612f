// The Postbacks view's table: pages of 100 by cursor, the summary with the total from
// GET /v1/stats, the filters' dirty flag, and Download CSV.
import { api, apiJson } from './api-client.js';
import { $, badge, clear, dash, el, setStatus } from './dom.js';
import { fmtPayout, fmtTime, pad } from './format.js';
import { describeFilters, readFilters } from './history-filters.js';
import { hideMessage, reportError } from './messages.js';

const PAGE_SIZE = 100;

// query: the applied filters; pages: the cursor each visited page starts at (null for the
// first); next: the next page's; selected: the postback open in the detail.
export const list = { query: null, pages: [null], page: 0, next: null, count: 0, seq: 0, selected: null, total: null, totalSeq: 0 };

function rowFor(item) {
  const tr = el('tr', { tabindex: '0', 'data-testid': 'row', dataset: { id: String(item.id) } });
  const ev = el('td', { 'data-col': 'event', title: dash(item.event_id) }, dash(item.event_id));
  if (item.replay_of) ev.appendChild(el('span', { className: 'tag', title: 'replay of ' + item.replay_of }, 'replay'));
  tr.appendChild(el('td', { 'data-col': 'time', title: dash(item.created_at) }, fmtTime(item.created_at)));
  tr.appendChild(ev);
  tr.appendChild(el('td', { 'data-col': 'endpoint', title: dash(item.endpoint_id) }, dash(item.endpoint_id)));
  tr.appendChild(el('td', { 'data-col': 'advertiser', title: dash(item.advertiser_name) }, dash(item.advertiser_name)));
  tr.appendChild(el('td', { 'data-col': 'offer', title: dash(item.offer_id) }, dash(item.offer_id)));
  tr.appendChild(el('td', { 'data-col': 'payout', className: 'num', title: dash(item.payout) }, fmtPayout(item.payout, item.currency)));
  tr.appendChild(el('td', { 'data-col': 'status' }, badge(item.status)));
  tr.appendChild(el('td', { 'data-col': 'attempts', className: 'num' }, dash(item.attempts)));
  tr.appendChild(el('td', { 'data-col': 'http', className: 'num' }, dash(item.http_status)));
  if (list.selected === item.id) tr.classList.add('selected');
  return tr;
}

/** The row of a postback in the table, or null. */
export function rowById(id) {
  return Array.from($('rows').children).find((tr) => tr.dataset.id === id) || null;
}

/** Highlights the row of the postback open in the detail. */
export function markSelected() {
  Array.from($('rows').children).forEach((tr) => tr.classList.toggle('selected', tr.dataset.id === list.selected));
}

function setBusy(busy) {
  ['apply', 'refresh', 'download-csv'].forEach((id) => { $(id).disabled = busy; });
  $('prev-page').disabled = busy || list.page === 0;
  $('next-page').disabled = busy || !list.next;
  $('postbacks').setAttribute('aria-busy', busy ? 'true' : 'false');
}

function updateSummary() {
  const first = list.page * PAGE_SIZE + 1;
  const last = list.page * PAGE_SIZE + list.count;
  const total = list.total;
  const of = total === null ? '' : ' of ' + (total.truncated ? 'at least ' : '') + total.n;
  $('summary').textContent = list.count === 0 ? (list.page === 0 ? 'No postbacks' : 'No more postbacks') :
    'Showing ' + first + '\u2013' + last + of + (total === null && list.next ? ' (more on the next page)' : '');
  $('empty').hidden = list.count !== 0;
  $('page-info').textContent = list.page === 0 && !list.next ? '' : 'Page ' + (list.page + 1);
  $('prev-page').disabled = list.page === 0;
  $('next-page').disabled = !list.next;
}

/** Shows whether the inputs differ from what the list shows (Refresh and Download CSV apply them). */
export function updateDirty() {
  let now = null;
  try { now = readFilters().toString(); } catch { now = null; }
  $('filters-dirty').hidden = list.query === null || now === list.query;
}

// The total for the list's filters from GET /v1/stats, when cheap: only with a From date
// (stats reads the rows of its range; without one it would read all history).
async function loadTotal(query) {
  const seq = ++list.totalSeq;
  list.total = null;
  const q = new URLSearchParams(query);
  if (!q.get('from')) return;
  const status = q.get('status');
  q.delete('status');
  if (!q.get('to')) q.set('to', new Date().toISOString());
  try {
    const st = await apiJson('v1/stats?' + q.toString());
    if (seq !== list.totalSeq) return;
    const t = st.totals || {};
    list.total = { n: status ? (t[status] || 0) : (t.total || 0), truncated: !!st.truncated };
    if (list.query === query) updateSummary();
  } catch { /* no total: the list still works */ }
}

/** Loads page 1 with the filters as entered (move undefined), or the next (1) / previous (-1) page of the applied ones. */
export async function loadList(move) {
  let q;
  let target = 0;
  let cursor = null;
  if (move) {
    target = list.page + move;
    if (target < 0 || (move > 0 && !list.next)) return;
    cursor = move > 0 ? list.next : list.pages[target];
    q = new URLSearchParams(list.query);
    if (cursor) q.set('cursor', cursor);
  } else {
    try { q = readFilters(); } catch (e) { reportError(e); return; }
    list.query = q.toString();
    $('applied-filters').textContent = describeFilters(list.query);
    updateDirty();
    loadTotal(list.query);
  }
  const seq = ++list.seq;
  q.set('limit', String(PAGE_SIZE));
  setBusy(true);
  $('summary').textContent = 'Loading\u2026';
  try {
    const page = await apiJson('v1/postbacks?' + q.toString());
    if (seq !== list.seq) return; // a newer request superseded this one
    const tbody = $('rows');
    clear(tbody);
    const frag = document.createDocumentFragment();
    (page.items || []).forEach((item) => frag.appendChild(rowFor(item)));
    tbody.appendChild(frag);
    list.page = target;
    list.pages.length = target + 1;
    list.pages[target] = cursor;
    list.count = (page.items || []).length;
    list.next = page.next_cursor || null;
    hideMessage();
  } catch (e) {
    if (seq !== list.seq) return;
    reportError(e);
  } finally {
    if (seq === list.seq) { setBusy(false); updateSummary(); }
  }
}

// Download CSV, like Refresh, takes the filters as entered now, and applies them to the
// list as well when they changed: the file always holds what the list shows.
export async function downloadCsv() {
  let q;
  try { q = readFilters().toString(); } catch (e) { reportError(e); return; }
  if (q !== list.query) loadList();
  const btn = $('download-csv');
  btn.disabled = true;
  try {
    const res = await api('v1/postbacks.csv' + (q ? '?' + q : ''));
    const blob = await res.blob();
    const url = URL.createObjectURL(new Blob([blob], { type: 'text/csv' }));
    const now = new Date();
    const name = 'postbacks-' + now.getFullYear() + pad(now.getMonth() + 1) + pad(now.getDate()) + '-' + pad(now.getHours()) + pad(now.getMinutes()) + pad(now.getSeconds()) + '.csv';
    const a = el('a', { href: url, download: name });
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setStatus('Downloaded ' + name + ' (' + describeFilters(q) + ')');
  } catch (e) {
    reportError(e);
  } finally {
    btn.disabled = false;
  }
}
