// Postback Explorer, served at /explorer.js as an ES module (the CSP allows no inline script);
// the page's modules are in explorer/, one concern each. This one switches the views and
// wires the page together.
import { getKey, askKey, showAuthState, wireKeyDialog } from './explorer/api-key.js';
import { $ } from './explorer/dom.js';
import { openEndpointEditor, wireEndpointForm } from './explorer/endpoint-form.js';
import { loadEndpoints, wireEndpointsView } from './explorer/endpoints-view.js';
import { tzNote } from './explorer/format.js';
import { FILTER_INPUTS, loadPickers, setRange } from './explorer/history-filters.js';
import { downloadCsv, loadList, updateDirty } from './explorer/history-list.js';
import { wireMessages } from './explorer/messages.js';
import { loadOverview, wireOverview } from './explorer/overview-view.js';
import { closeDetail, isDetailOpen, reloadDetail, wireDetail } from './explorer/postback-detail.js';
import { loadWhoami } from './explorer/whoami.js';

const VIEWS = ['postbacks', 'overview', 'endpoints'];
let view = 'postbacks';

function showView(name) {
  view = name;
  VIEWS.forEach((v) => { $('view-' + v).hidden = v !== name; });
  document.querySelectorAll('[data-view]').forEach((b) => {
    if (b.dataset.view === name) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  });
  if (name !== 'postbacks' && isDetailOpen()) closeDetail();
  if (name === 'overview') loadOverview();
  if (name === 'endpoints') loadEndpoints();
}

/** After a key was given: (re)load what the page shows with it. */
function start() {
  loadWhoami();
  reloadDetail();
  loadList();
  loadPickers();
  if (view !== 'postbacks') showView(view);
}

function wireHistory() {
  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); loadList(); });
  $('filters').addEventListener('input', updateDirty);
  $('filters').addEventListener('change', updateDirty);
  $('clear').addEventListener('click', () => {
    FILTER_INPUTS.forEach((id) => { $(id).value = ''; });
    loadList();
  });
  document.querySelectorAll('[data-range]').forEach((b) => {
    b.addEventListener('click', () => { setRange(b.dataset.range); loadList(); });
  });
  $('refresh').addEventListener('click', () => { loadList(); reloadDetail(); });
  $('next-page').addEventListener('click', () => loadList(1));
  $('prev-page').addEventListener('click', () => loadList(-1));
  $('download-csv').addEventListener('click', downloadCsv);
}

wireKeyDialog(start);
wireMessages();
wireHistory();
wireDetail();
wireOverview();
wireEndpointsView(openEndpointEditor);
wireEndpointForm();
document.querySelectorAll('[data-view]').forEach((b) => b.addEventListener('click', () => showView(b.dataset.view)));

$('tz-note').textContent = tzNote();
showAuthState();
if (getKey() === null) askKey('');
else start();
