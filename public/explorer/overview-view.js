// The Overview view (GET /v1/stats): counts, the success rate, an SVG bar chart of postbacks
// created and failed per bucket, and the most frequent error classes.
import { apiJson } from './api-client.js';
import { $, clear, dash, el } from './dom.js';
import { fmtTime, pct } from './format.js';
import { hideMessage, reportError } from './messages.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const RANGE_MS = { '24h': 86400000, '7d': 7 * 86400000, '30d': 30 * 86400000 };
const CHART = { width: 720, height: 180, top: 10 };
let seqNow = 0;

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function card(name, value, testid, cls) {
  return el('div', { className: 'card-stat ' + (cls || ''), 'data-testid': testid }, el('div', { className: 'n' }, String(value)), el('div', { className: 'label' }, name));
}

export async function loadOverview() {
  const seq = ++seqNow;
  const to = Date.now();
  const from = to - RANGE_MS[$('overview-range').value];
  try {
    const st = await apiJson('v1/stats?from=' + encodeURIComponent(new Date(from).toISOString()) + '&to=' + encodeURIComponent(new Date(to).toISOString()));
    if (seq !== seqNow) return;
    renderOverview(st);
    hideMessage();
  } catch (e) {
    if (seq === seqNow) reportError(e);
  }
}

function renderCards(st) {
  const t = st.totals || {};
  const cards = $('overview-cards');
  clear(cards);
  cards.appendChild(card('delivered', t.delivered || 0, 'total-delivered', 'delivered'));
  cards.appendChild(card('failed', t.failed || 0, 'total-failed', 'failed'));
  cards.appendChild(card('retrying', t.retrying || 0, 'total-retrying', 'retrying'));
  cards.appendChild(card('queued', t.queued || 0, 'total-queued', 'queued'));
  cards.appendChild(card('success rate', pct(t.success_rate), 'success-rate', ''));
  if (st.truncated) cards.appendChild(el('p', { className: 'muted' }, 'Counted the newest ' + st.scanned + ' postbacks only: narrow the range for exact numbers.'));
}

// The chart: per bucket, a bar for the postbacks created and, over it, one for those that failed.
function renderChart(st) {
  const chart = $('overview-chart');
  Array.from(chart.querySelectorAll('g, line')).forEach((n) => n.remove());
  const series = Array.isArray(st.series) ? st.series : [];
  const { width: W, height: H, top } = CHART;
  const vol = series.map((p) => (p.delivered || 0) + (p.failed || 0) + (p.retrying || 0) + (p.queued || 0));
  const max = Math.max(1, ...vol);
  const bw = series.length ? W / series.length : W;
  chart.appendChild(svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }));
  let totalFailed = 0;
  series.forEach((p, i) => {
    const g = svg('g', { class: 'bucket' });
    const failed = p.failed || 0;
    const hv = (vol[i] / max) * (H - top);
    const hf = (failed / max) * (H - top);
    totalFailed += failed;
    const tip = svg('title', {});
    tip.textContent = fmtTime(p.t) + ': ' + vol[i] + ' postback' + (vol[i] === 1 ? '' : 's') + ', ' + failed + ' failed';
    g.appendChild(tip);
    g.appendChild(svg('rect', { class: 'vol', x: i * bw + 0.5, y: H - hv, width: Math.max(bw - 1, 0.5), height: hv, 'data-count': vol[i] }));
    g.appendChild(svg('rect', { class: 'fail', x: i * bw + 0.5, y: H - hf, width: Math.max(bw - 1, 0.5), height: hf, 'data-count': failed }));
    chart.appendChild(g);
  });
  const created = vol.reduce((a, b) => a + b, 0);
  $('overview-chart-title').textContent = 'Postbacks and failures per ' + dash(st.bucket) + ' bucket: ' +
    created + ' created, ' + totalFailed + ' failed, peak ' + (created === 0 ? 0 : max) + ' per bucket';
  $('overview-bucket').textContent = '(one bar per ' + dash(st.bucket) + ')';
}

function renderErrors(st) {
  const ul = $('overview-errors');
  clear(ul);
  (st.errors || []).slice(0, 8).forEach((e) => ul.appendChild(el('li', null, el('code', null, String(e.error)), ' \u00d7 ' + e.count)));
  if (!ul.firstChild) ul.appendChild(el('li', { className: 'muted' }, 'No errors in this range.'));
}

function renderOverview(st) {
  renderCards(st);
  renderChart(st);
  renderErrors(st);
}

export function wireOverview() {
  $('overview-range').addEventListener('change', loadOverview);
  $('overview-refresh').addEventListener('click', loadOverview);
}
