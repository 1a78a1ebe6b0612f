// Postback Explorer, served at /explorer.js (the CSP allows no inline script); loaded at the end of <body>.
'use strict';
(function () {
  // Every value from the API is rendered with textContent / text nodes, never as HTML.
  var KEY_STORE = 'postback-explorer.api-key';
  var PAGE_SIZE = 100;
  var $ = function (id) { return document.getElementById(id); };

  // ---------- small helpers ----------
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      for (var k in props) {
        if (k === 'text') node.textContent = props[k];
        else if (k === 'className') node.className = props[k];
        else if (k === 'dataset') for (var d in props[k]) node.dataset[d] = props[k][d];
        else node.setAttribute(k, props[k]);
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad(n, w) { return String(n).padStart(w || 2, '0'); }
  function fmtTime(iso) {
    if (!iso) return '\u2014';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function fmtClock(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return dash(iso);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }
  function dash(v) { return v === null || v === undefined || v === '' ? '\u2014' : String(v); }
  function badge(status) {
    var s = String(status);
    var cls = /^(queued|retrying|delivered|failed)$/.test(s) ? s : 'queued';
    return el('span', { className: 'badge ' + cls, 'data-testid': 'status-badge' }, s);
  }
  // Payouts with 2 to 4 decimals (0.5 -> 0.50, 0.12345 -> 0.1235); history keeps no currency.
  var PAYOUT_FORMAT = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
  function fmtPayout(v) {
    if (v === null || v === undefined || v === '') return '\u2014';
    var n = Number(v);
    return isFinite(n) ? PAYOUT_FORMAT.format(n) : String(v);
  }
  function fmtSeconds(ms) {
    var s = Math.round(Number(ms) / 100) / 10;
    return (s >= 10 ? String(Math.round(s)) : String(s)) + ' s';
  }
  // An attempt's error class in words; the class itself is shown beside it as a code.
  var ERROR_TEXT = {
    http_status: function (a) { return 'HTTP ' + a.status_code + ' from receiver'; },
    timeout: function (a) { return 'timed out after ' + fmtSeconds(a.duration_ms); },
    circuit_open: function () { return 'circuit open: not sent'; },
    disabled: function () { return 'endpoint disabled: not sent'; },
    refused: function () { return 'connection refused'; },
    reset: function () { return 'connection reset'; },
    dns: function () { return 'DNS lookup failed'; },
    tls: function () { return 'TLS handshake failed'; },
    blocked: function () { return 'blocked: target address not allowed'; },
    redirect: function (a) { return 'HTTP ' + a.status_code + ' redirect (not followed)'; },
    body_mismatch: function (a) { return 'HTTP ' + a.status_code + ' without the expected body text'; },
    config: function () { return 'endpoint configuration error'; },
    other: function () { return 'request failed'; },
  };
  function errorText(a) {
    var f = Object.prototype.hasOwnProperty.call(ERROR_TEXT, a.error) ? ERROR_TEXT[a.error] : null;
    return f ? f(a) : 'failed';
  }
  /** A request body as text: JSON pretty-printed, anything else as it is. */
  function prettyBody(body) {
    if (body === null || body === undefined) return '';
    if (typeof body !== 'string') return JSON.stringify(body, null, 2);
    var t = body.trim();
    if (t.charAt(0) === '{' || t.charAt(0) === '[') {
      try { return JSON.stringify(JSON.parse(t), null, 2); } catch { /* not JSON: as sent */ }
    }
    return body;
  }
  function tzNote() {
    var off = -new Date().getTimezoneOffset();
    var sign = off >= 0 ? '+' : '-';
    off = Math.abs(off);
    return 'Times in your local zone (UTC' + sign + pad(Math.floor(off / 60)) + ':' + pad(off % 60) + ')';
  }

  // ---------- API key (sessionStorage, per tab) ----------
  var memoryKey = null;
  function getKey() {
    try { return sessionStorage.getItem(KEY_STORE); } catch { return memoryKey; }
  }
  function setKey(k) {
    memoryKey = k;
    try { sessionStorage.setItem(KEY_STORE, k); } catch { /* storage disabled: memory only */ }
    showAuthState();
  }
  function forgetKey() {
    memoryKey = null;
    try { sessionStorage.removeItem(KEY_STORE); } catch { /* ignore */ }
    showAuthState();
  }
  function showAuthState() {
    var k = getKey();
    $('auth-state').textContent = k === null ? 'no key' : k === '' ? 'no key (open server)' : 'key set';
  }
  // The key prompt is a modal <dialog>: the rest of the page is inert while it is open, Tab
  // cycles inside it, and Escape (or Cancel) leaves it only once a key, possibly the empty
  // one of a keyless server, has been given.
  var keyDialog = { returnFocus: null };
  function askKey(errorText) {
    var err = $('key-error');
    err.textContent = errorText || '';
    err.hidden = !errorText;
    $('key-input').value = '';
    $('key-cancel').hidden = getKey() === null;
    var dlg = $('key-panel');
    if (!dlg.open) {
      var active = document.activeElement;
      keyDialog.returnFocus = active && active !== document.body && !dlg.contains(active) ? active : null;
      dlg.showModal();
    }
    $('key-input').focus();
  }
  function closeKeyDialog() {
    var dlg = $('key-panel');
    if (dlg.open) dlg.close();
    var back = keyDialog.returnFocus;
    keyDialog.returnFocus = null;
    if (back && document.contains(back)) back.focus();
  }

  // ---------- API calls ----------
  function ApiError(message, details, status) {
    this.message = message;
    this.details = details || [];
    this.status = status || 0;
  }
  async function api(path, options) {
    options = options || {};
    var headers = {};
    var key = getKey();
    if (key) headers['Authorization'] = 'Bearer ' + key;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    var res;
    try {
      res = await fetch(path, {
        method: options.method || 'GET',
        headers: headers,
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
      var body = null;
      try { body = await res.json(); } catch { /* not JSON */ }
      var msg = body && typeof body.error === 'string' ? body.error : 'HTTP ' + res.status + ' ' + res.statusText;
      throw new ApiError(msg, body && Array.isArray(body.details) ? body.details : [], res.status);
    }
    return res;
  }
  async function apiJson(path, options) { return (await api(path, options)).json(); }

  // ---------- message area ----------
  function showMessage(text, details, kind, serverText) {
    $('message-text').textContent = text;
    $('message-server').textContent = serverText ? 'Server said: ' + serverText : '';
    $('message-server').hidden = !serverText;
    var ul = $('message-details');
    clear(ul);
    (details || []).forEach(function (d) {
      ul.appendChild(el('li', null, el('code', null, dash(d && d.path)), ': ', dash(d && d.message)));
    });
    $('message').className = kind === 'info' ? 'info' : '';
    $('message').hidden = false;
  }
  function hideMessage() { $('message').hidden = true; }
  function reportError(e) {
    if (e instanceof ApiError) {
      if (e.status === 401) return; // the key panel says it
      if (e.status === 503) {
        // SPEC: a route that needs Redis (or the history store) answers 503 while it is unreachable.
        var what = /^Redis\b/i.test(e.message) ? 'Redis' : 'its data store';
        showMessage('The dispatcher cannot reach ' + what + ' right now (503): retry in a moment.', e.details, 'error', e.message);
      } else if (e.status >= 500) {
        showMessage('The dispatcher failed on this request (' + e.status + '): retry, and check its log if it persists.', e.details, 'error', e.message);
      } else {
        showMessage((e.status ? 'Error ' + e.status + ': ' : '') + e.message, e.details);
      }
    } else {
      showMessage('Unexpected error: ' + (e && e.message ? e.message : String(e)));
    }
  }

  // ---------- filters ----------
  function localToIso(value, name) {
    if (!value) return '';
    var d = new Date(value); // datetime-local has no zone: parsed as local time
    if (isNaN(d.getTime())) throw new ApiError('Invalid ' + name + ' date', [{ path: name, message: 'not a valid date and time' }]);
    return d.toISOString();
  }
  function readFilters() {
    var q = new URLSearchParams();
    var from = localToIso($('filter-from').value, 'from');
    var to = localToIso($('filter-to').value, 'to');
    if (from && to && Date.parse(from) > Date.parse(to)) {
      throw new ApiError('"From" is after "To"', [{ path: 'from', message: 'must not be after to' }]);
    }
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    if ($('filter-status').value) q.set('status', $('filter-status').value);
    if ($('filter-endpoint').value) q.set('endpoint_id', $('filter-endpoint').value);
    if ($('filter-publisher').value) q.set('publisher_id', $('filter-publisher').value);
    var ev = $('filter-event').value.trim();
    if (ev) q.set('event_id', ev);
    return q;
  }
  /** datetime-local value (local time, seconds) of a Date. */
  function toLocalInput(d) {
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  /** The date range shortcuts: from the start of the range to now (to left open). */
  function setRange(name) {
    var now = new Date();
    var from = name === '24h' ? new Date(now.getTime() - 86400000)
      : name === '7d' ? new Date(now.getTime() - 7 * 86400000)
      : new Date(now.getFullYear(), now.getMonth(), 1);
    $('filter-from').value = toLocalInput(from);
    $('filter-to').value = '';
  }
  /** Fills a picker with values, keeping "any" and the current choice. */
  function fillPicker(select, values) {
    var current = select.value;
    while (select.options.length > 1) select.remove(1);
    values.forEach(function (v) { select.appendChild(el('option', { value: v }, v)); });
    if (current && values.indexOf(current) < 0) select.appendChild(el('option', { value: current }, current));
    select.value = current;
  }
  var endpointsCache = [];
  /** Endpoint and publisher pickers from GET /v1/endpoints (a publisher key sees its own). */
  async function loadPickers() {
    try {
      var res = await apiJson('v1/endpoints');
      endpointsCache = Array.isArray(res.endpoints) ? res.endpoints : [];
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) reportError(e);
      return;
    }
    var ids = endpointsCache.map(function (ep) { return String(ep.id); }).sort();
    var pubs = {};
    endpointsCache.forEach(function (ep) { if (ep.publisher_id !== null && ep.publisher_id !== undefined) pubs[String(ep.publisher_id)] = true; });
    fillPicker($('filter-endpoint'), ids);
    fillPicker($('filter-publisher'), Object.keys(pubs).sort());
  }

  /** The filters of a query string in words, as the bar shows them. */
  function describeFilters(qs) {
    var q = new URLSearchParams(qs || '');
    var parts = [];
    if (q.get('status')) parts.push('status ' + q.get('status'));
    if (q.get('endpoint_id')) parts.push('endpoint ' + q.get('endpoint_id'));
    if (q.get('publisher_id')) parts.push('publisher ' + q.get('publisher_id'));
    if (q.get('event_id')) parts.push('event ' + q.get('event_id'));
    if (q.get('from')) parts.push('from ' + fmtTime(q.get('from')));
    if (q.get('to')) parts.push('to ' + fmtTime(q.get('to')));
    return parts.length ? 'Filters: ' + parts.join(', ') : 'Filters: none';
  }
  /** Shows whether the inputs differ from what the list shows (Refresh and Download CSV apply them). */
  function updateDirty() {
    var now = null;
    try { now = readFilters().toString(); } catch { now = null; }
    $('filters-dirty').hidden = state.query === null || now === state.query;
  }
  /** One status message (a polite live region): text and nodes. */
  function setStatus() {
    var box = $('status');
    clear(box);
    for (var i = 0; i < arguments.length; i++) {
      var c = arguments[i];
      if (c !== null && c !== undefined) box.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
  }

  // ---------- list ----------
  // pages: the cursor each visited page starts at (null for the first); next: the next page's.
  var state = { query: null, pages: [null], page: 0, next: null, count: 0, seq: 0, selected: null, total: null, totalSeq: 0 };

  function rowFor(item) {
    var tr = el('tr', { tabindex: '0', 'data-testid': 'row', dataset: { id: String(item.id) } });
    var ev = el('td', { 'data-col': 'event', title: dash(item.event_id) }, dash(item.event_id));
    if (item.replay_of) ev.appendChild(el('span', { className: 'tag', title: 'replay of ' + item.replay_of }, 'replay'));
    tr.appendChild(el('td', { 'data-col': 'time', title: dash(item.created_at) }, fmtTime(item.created_at)));
    tr.appendChild(ev);
    tr.appendChild(el('td', { 'data-col': 'endpoint', title: dash(item.endpoint_id) }, dash(item.endpoint_id)));
    tr.appendChild(el('td', { 'data-col': 'advertiser', title: dash(item.advertiser_name) }, dash(item.advertiser_name)));
    tr.appendChild(el('td', { 'data-col': 'offer', title: dash(item.offer_id) }, dash(item.offer_id)));
    tr.appendChild(el('td', { 'data-col': 'payout', className: 'num', title: dash(item.payout) }, fmtPayout(item.payout)));
    tr.appendChild(el('td', { 'data-col': 'status' }, badge(item.status)));
    tr.appendChild(el('td', { 'data-col': 'attempts', className: 'num' }, dash(item.attempts)));
    tr.appendChild(el('td', { 'data-col': 'http', className: 'num' }, dash(item.http_status)));
    if (state.selected === item.id) tr.classList.add('selected');
    return tr;
  }

  function setBusy(busy) {
    ['apply', 'refresh', 'download-csv'].forEach(function (id) { $(id).disabled = busy; });
    $('prev-page').disabled = busy || state.page === 0;
    $('next-page').disabled = busy || !state.next;
    $('postbacks').setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function updateSummary() {
    var first = state.page * PAGE_SIZE + 1;
    var last = state.page * PAGE_SIZE + state.count;
    var total = state.total;
    var of = total === null ? '' : ' of ' + (total.truncated ? 'at least ' : '') + total.n;
    $('summary').textContent = state.count === 0 ? (state.page === 0 ? 'No postbacks' : 'No more postbacks') :
      'Showing ' + first + '\u2013' + last + of + (total === null && state.next ? ' (more on the next page)' : '');
    $('empty').hidden = state.count !== 0;
    $('page-info').textContent = state.page === 0 && !state.next ? '' : 'Page ' + (state.page + 1);
    $('prev-page').disabled = state.page === 0;
    $('next-page').disabled = !state.next;
  }

  // The total for the list's filters from GET /v1/stats, when cheap: only with a From date
  // (stats reads the rows of its range; without one it would read all history).
  async function loadTotal(query) {
    var seq = ++state.totalSeq;
    state.total = null;
    var q = new URLSearchParams(query);
    if (!q.get('from')) return;
    var status = q.get('status');
    q.delete('status');
    if (!q.get('to')) q.set('to', new Date().toISOString());
    try {
      var st = await apiJson('v1/stats?' + q.toString());
      if (seq !== state.totalSeq) return;
      var t = st.totals || {};
      state.total = { n: status ? (t[status] || 0) : (t.total || 0), truncated: !!st.truncated };
      if (state.query === query) updateSummary();
    } catch { /* no total: the list still works */ }
  }

  /** Loads page 1 with the filters as entered (move undefined), or the next (1) / previous (-1) page of the applied ones. */
  async function loadList(move) {
    var q;
    var target = 0;
    var cursor = null;
    if (move) {
      target = state.page + move;
      if (target < 0 || (move > 0 && !state.next)) return;
      cursor = move > 0 ? state.next : state.pages[target];
      q = new URLSearchParams(state.query);
      if (cursor) q.set('cursor', cursor);
    } else {
      try { q = readFilters(); } catch (e) { reportError(e); return; }
      state.query = q.toString();
      $('applied-filters').textContent = describeFilters(state.query);
      updateDirty();
      loadTotal(state.query);
    }
    var seq = ++state.seq;
    q.set('limit', String(PAGE_SIZE));
    setBusy(true);
    $('summary').textContent = 'Loading\u2026';
    try {
      var page = await apiJson('v1/postbacks?' + q.toString());
      if (seq !== state.seq) return; // a newer request superseded this one
      var tbody = $('rows');
      clear(tbody);
      var frag = document.createDocumentFragment();
      (page.items || []).forEach(function (item) { frag.appendChild(rowFor(item)); });
      tbody.appendChild(frag);
      state.page = target;
      state.pages.length = target + 1;
      state.pages[target] = cursor;
      state.count = (page.items || []).length;
      state.next = page.next_cursor || null;
      hideMessage();
    } catch (e) {
      if (seq !== state.seq) return;
      reportError(e);
    } finally {
      if (seq === state.seq) { setBusy(false); updateSummary(); }
    }
  }

  // Download CSV, like Refresh, takes the filters as entered now, and applies them to the
  // list as well when they changed: the file always holds what the list shows.
  async function downloadCsv() {
    var q;
    try { q = readFilters().toString(); } catch (e) { reportError(e); return; }
    if (q !== state.query) loadList();
    var btn = $('download-csv');
    btn.disabled = true;
    try {
      var res = await api('v1/postbacks.csv' + (q ? '?' + q : ''));
      var blob = await res.blob();
      var url = URL.createObjectURL(new Blob([blob], { type: 'text/csv' }));
      var now = new Date();
      var name = 'postbacks-' + now.getFullYear() + pad(now.getMonth() + 1) + pad(now.getDate()) + '-' + pad(now.getHours()) + pad(now.getMinutes()) + pad(now.getSeconds()) + '.csv';
      var a = el('a', { href: url, download: name });
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      setStatus('Downloaded ' + name + ' (' + describeFilters(q) + ')');
    } catch (e) {
      reportError(e);
    } finally {
      btn.disabled = false;
    }
  }

  // ---------- detail ----------
  // fromRow: the list row that opened the detail, by postback id; focus goes back to it on close.
  var detail = { id: null, record: null, seq: 0, fromRow: null };

  function markSelected() {
    Array.prototype.forEach.call($('rows').children, function (tr) {
      tr.classList.toggle('selected', tr.dataset.id === state.selected);
    });
  }

  function idButton(id) {
    var b = el('button', { type: 'button', className: 'link', 'data-open': String(id) }, String(id));
    b.addEventListener('click', function () { openDetail(String(id)); });
    return b;
  }

  function renderDetail(r) {
    $('detail-id').textContent = r.id;
    clear($('detail-status'));
    $('detail-status').appendChild(badge(r.status));

    var dl = $('detail-fields');
    clear(dl);
    function field(name, value) {
      dl.appendChild(el('dt', null, name));
      dl.appendChild(el('dd', { 'data-field': name }, value));
    }
    field('id', el('code', null, dash(r.id)));
    field('event_id', dash(r.event_id));
    field('endpoint_id', dash(r.endpoint_id));
    if (r.publisher_id !== undefined) field('publisher_id', dash(r.publisher_id));
    field('status', dash(r.status));
    if (r.offer_id !== undefined) field('offer_id', dash(r.offer_id));
    if (r.payout !== undefined) field('payout', fmtPayout(r.payout));
    field('created_at', el('span', { title: dash(r.created_at) }, fmtTime(r.created_at) + '  (' + dash(r.created_at) + ')'));
    field('finished_at', el('span', { title: dash(r.finished_at) }, r.finished_at ? fmtTime(r.finished_at) + '  (' + r.finished_at + ')' : '\u2014'));
    if (r.next_attempt_at) field('next_attempt_at', fmtTime(r.next_attempt_at) + '  (' + r.next_attempt_at + ')');
    if (r.delay_s) field('delay_s', String(r.delay_s));
    if (r.replay_of) field('replay_of', idButton(r.replay_of));

    var req = r.request || {};
    $('detail-request-method').textContent = dash(req.method);
    $('detail-request-url').textContent = dash(req.url);
    var hs = $('detail-request-headers');
    clear(hs);
    var headers = req.headers && typeof req.headers === 'object' ? req.headers : {};
    Object.keys(headers).forEach(function (name) {
      hs.appendChild(document.createTextNode('\n'));
      hs.appendChild(el('span', { className: 'hname' }, name + ':'));
      hs.appendChild(document.createTextNode(' ' + headers[name]));
    });
    var body = prettyBody(req.body);
    $('detail-request-body').textContent = body ? '\n\n' + body : '';

    var attempts = Array.isArray(r.attempts) ? r.attempts : [];
    $('attempt-count').textContent = '(' + attempts.length + ')';
    var tbody = $('attempt-rows');
    clear(tbody);
    attempts.forEach(function (a) {
      var result = el('td', { 'data-col': 'result' });
      if (a.error) {
        result.appendChild(el('span', { className: 'err', 'data-testid': 'attempt-error' }, errorText(a)));
        result.appendChild(document.createTextNode(' '));
        result.appendChild(el('code', { className: 'errcode', title: 'error class' }, String(a.error)));
        if (a.phase) result.appendChild(el('div', { className: 'muted phase', 'data-col': 'phase', title: 'where it failed' }, 'in ' + a.phase));
      } else result.appendChild(el('span', { className: 'badge ok' }, 'ok'));
      if (a.location) result.appendChild(el('div', { className: 'muted' }, 'Location: ' + a.location));
      if (a.retry_after_ms !== undefined && a.retry_after_ms !== null) result.appendChild(el('div', { className: 'muted' }, 'Retry-After: ' + a.retry_after_ms + ' ms'));
      tbody.appendChild(el('tr', { 'data-testid': 'attempt-row' },
        el('td', { className: 'num', 'data-col': 'n' }, dash(a.n)),
        el('td', { 'data-col': 'started', title: dash(a.started_at) }, fmtClock(a.started_at)),
        el('td', { className: 'num', 'data-col': 'duration' }, a.duration_ms === undefined || a.duration_ms === null ? '\u2014' : a.duration_ms + ' ms'),
        el('td', { className: 'num', 'data-col': 'status_code' }, dash(a.status_code)),
        result,
        el('td', { 'data-col': 'excerpt' }, a.response_excerpt ? el('pre', null, String(a.response_excerpt)) : '\u2014')
      ));
    });
    $('attempts-empty').hidden = attempts.length !== 0;

    var inline = r.endpoint_id === 'inline';
    $('test-endpoint').disabled = inline || !r.endpoint_id;
    $('test-endpoint').title = inline ? 'Inline targets have no stored endpoint to test' : 'One synchronous test request to endpoint ' + r.endpoint_id + ' with a sample event';
    $('test-endpoint').textContent = inline ? 'Test endpoint' : 'Test endpoint ' + r.endpoint_id;
  }

  function rowById(id) {
    var found = null;
    Array.prototype.forEach.call($('rows').children, function (tr) { if (!found && tr.dataset.id === id) found = tr; });
    return found;
  }

  async function openDetail(id, fromRow) {
    if (fromRow) detail.fromRow = fromRow;
    var wasOpen = !$('detail').hidden;
    var seq = ++detail.seq;
    var switching = detail.id !== id;
    detail.id = id;
    state.selected = id;
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
      var r = await apiJson('v1/postbacks/' + encodeURIComponent(id));
      if (seq !== detail.seq) return;
      detail.record = r;
      renderDetail(r);
    } catch (e) {
      if (seq === detail.seq) reportError(e);
    }
  }

  function closeDetail() {
    detail.seq++;
    detail.id = null;
    detail.record = null;
    state.selected = null;
    $('detail').hidden = true;
    document.body.classList.remove('detail-open');
    markSelected();
    var back = detail.fromRow ? rowById(detail.fromRow) : null;
    detail.fromRow = null;
    if (back) back.focus();
  }

  async function replay() {
    if (!detail.id) return;
    var id = detail.id;
    var btn = $('replay');
    btn.disabled = true;
    try {
      var res = await apiJson('v1/postbacks/' + encodeURIComponent(id) + '/replay', { method: 'POST', body: {} });
      var box = $('replay-result');
      clear(box);
      box.appendChild(el('span', null, 'Replay enqueued as '));
      var open = idButton(res.id);
      open.id = 'replay-new-id';
      box.appendChild(open);
      box.appendChild(el('span', { className: 'muted' }, ' (replay of ' + dash(res.replay_of || id) + ')'));
      box.hidden = false;
      hideMessage();
      var openNew = idButton(res.id);
      openNew.id = 'status-open-replay';
      setStatus('Replayed ', el('code', null, String(id)), ' as ', openNew, ' \u2014 list refreshed');
      await loadList();
      if (!rowById(String(res.id))) {
        $('status').appendChild(document.createTextNode(' (the new postback is not in this list: ' + describeFilters(state.query).replace(/^Filters: /, 'filtered by ') + ')'));
      }
    } catch (e) {
      reportError(e);
    } finally {
      btn.disabled = false;
    }
  }

  async function testEndpoint() {
    var r = detail.record;
    if (!r || !r.endpoint_id) return;
    var btn = $('test-endpoint');
    var box = $('test-result');
    btn.disabled = true;
    box.className = 'result';
    clear(box);
    box.appendChild(el('span', { className: 'muted' }, 'Testing endpoint ' + r.endpoint_id + '\u2026'));
    box.hidden = false;
    try {
      var t = await apiJson('v1/endpoints/' + encodeURIComponent(r.endpoint_id) + '/test', { method: 'POST', body: {} });
      var resp = t.response || {};
      clear(box);
      box.className = 'result ' + (t.ok ? 'good' : 'bad');
      box.appendChild(el('div', null,
        el('span', { className: 'badge ' + (t.ok ? 'ok' : 'bad'), 'data-testid': 'test-ok' }, t.ok ? 'ok' : 'failed'),
        ' Test of ', el('code', null, String(r.endpoint_id)), ': HTTP ',
        el('strong', { 'data-testid': 'test-status' }, dash(resp.status_code)),
        ' in ' + dash(resp.duration_ms) + ' ms',
        t.error ? el('span', { className: 'err' }, ' \u2014 ' + t.error) : null));
      if (t.request) box.appendChild(el('pre', { 'data-testid': 'test-request' }, dash(t.request.method) + ' ' + dash(t.request.url) + (t.request.body ? '\n\n' + t.request.body : '')));
      box.appendChild(el('div', { className: 'muted excerpt-label' }, 'Response excerpt:'));
      box.appendChild(el('pre', null, resp.body_excerpt ? String(resp.body_excerpt) : '(empty)'));
    } catch (e) {
      box.hidden = true;
      reportError(e);
    } finally {
      btn.disabled = r.endpoint_id === 'inline';
    }
  }

  // ---------- views: Postbacks, Overview, Endpoints ----------
  var view = 'postbacks';
  function showView(name) {
    view = name;
    ['postbacks', 'overview', 'endpoints'].forEach(function (v) { $('view-' + v).hidden = v !== name; });
    Array.prototype.forEach.call(document.querySelectorAll('[data-view]'), function (b) {
      if (b.dataset.view === name) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
    });
    if (name !== 'postbacks' && !$('detail').hidden) closeDetail();
    if (name === 'overview') loadOverview();
    if (name === 'endpoints') loadEndpoints();
  }

  // ---------- overview: GET /v1/stats ----------
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var RANGE_MS = { '24h': 86400000, '7d': 7 * 86400000, '30d': 30 * 86400000 };
  var overviewSeq = 0;
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    return node;
  }
  function pct(rate) { return rate === null || rate === undefined ? '\u2014' : (Math.round(rate * 1000) / 10) + '%'; }
  function card(name, value, testid, cls) {
    return el('div', { className: 'card-stat ' + (cls || ''), 'data-testid': testid }, el('div', { className: 'n' }, String(value)), el('div', { className: 'label' }, name));
  }
  async function loadOverview() {
    var seq = ++overviewSeq;
    var to = Date.now();
    var from = to - RANGE_MS[$('overview-range').value];
    try {
      var st = await apiJson('v1/stats?from=' + encodeURIComponent(new Date(from).toISOString()) + '&to=' + encodeURIComponent(new Date(to).toISOString()));
      if (seq !== overviewSeq) return;
      renderOverview(st);
      hideMessage();
    } catch (e) {
      if (seq === overviewSeq) reportError(e);
    }
  }
  function renderOverview(st) {
    var t = st.totals || {};
    var cards = $('overview-cards');
    clear(cards);
    cards.appendChild(card('delivered', t.delivered || 0, 'total-delivered', 'delivered'));
    cards.appendChild(card('failed', t.failed || 0, 'total-failed', 'failed'));
    cards.appendChild(card('retrying', t.retrying || 0, 'total-retrying', 'retrying'));
    cards.appendChild(card('queued', t.queued || 0, 'total-queued', 'queued'));
    cards.appendChild(card('success rate', pct(t.success_rate), 'success-rate', ''));
    if (st.truncated) cards.appendChild(el('p', { className: 'muted' }, 'Counted the newest ' + st.scanned + ' postbacks only: narrow the range for exact numbers.'));

    // The chart: per bucket, a bar for the postbacks created and, over it, one for those that failed.
    var chart = $('overview-chart');
    Array.prototype.slice.call(chart.querySelectorAll('g, line')).forEach(function (n) { n.remove(); });
    var series = Array.isArray(st.series) ? st.series : [];
    var W = 720, H = 180, top = 10;
    var vol = series.map(function (p) { return (p.delivered || 0) + (p.failed || 0) + (p.retrying || 0) + (p.queued || 0); });
    var max = Math.max.apply(null, [1].concat(vol));
    var bw = series.length ? W / series.length : W;
    chart.appendChild(svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }));
    var totalFailed = 0;
    series.forEach(function (p, i) {
      var g = svg('g', { class: 'bucket' });
      var hv = (vol[i] / max) * (H - top);
      var hf = ((p.failed || 0) / max) * (H - top);
      totalFailed += p.failed || 0;
      var label = fmtTime(p.t) + ': ' + vol[i] + ' postback' + (vol[i] === 1 ? '' : 's') + ', ' + (p.failed || 0) + ' failed';
      var tip = svg('title', {});
      tip.textContent = label;
      g.appendChild(tip);
      g.appendChild(svg('rect', { class: 'vol', x: i * bw + 0.5, y: H - hv, width: Math.max(bw - 1, 0.5), height: hv, 'data-count': vol[i] }));
      g.appendChild(svg('rect', { class: 'fail', x: i * bw + 0.5, y: H - hf, width: Math.max(bw - 1, 0.5), height: hf, 'data-count': p.failed || 0 }));
      chart.appendChild(g);
    });
    $('overview-chart-title').textContent = 'Postbacks and failures per ' + dash(st.bucket) + ' bucket: ' +
      vol.reduce(function (a, b) { return a + b; }, 0) + ' created, ' + totalFailed + ' failed, peak ' + (max === 1 && vol.every(function (v) { return v === 0; }) ? 0 : max) + ' per bucket';
    $('overview-bucket').textContent = '(one bar per ' + dash(st.bucket) + ')';

    var ul = $('overview-errors');
    clear(ul);
    (st.errors || []).slice(0, 8).forEach(function (e) {
      ul.appendChild(el('li', null, el('code', null, String(e.error)), ' \u00d7 ' + e.count));
    });
    if (!ul.firstChild) ul.appendChild(el('li', { className: 'muted' }, 'No errors in this range.'));
  }

  // ---------- endpoints: GET /v1/endpoints with health, enable / disable ----------
  var endpointsSeq = 0;
  function healthBadge(state) {
    var s = String(state || 'healthy');
    var cls = s === 'healthy' ? 'ok' : s === 'degraded' ? 'retrying' : s === 'open' ? 'bad' : 'queued';
    return el('span', { className: 'badge ' + cls, 'data-testid': 'health-state' }, s);
  }
  function endpointRow(ep) {
    var h = ep.health || {};
    var disabled = h.state === 'disabled' || ep.enabled === false;
    var btn = el('button', { type: 'button', 'data-testid': 'endpoint-toggle' }, disabled ? 'Enable' : 'Disable');
    btn.setAttribute('aria-label', (disabled ? 'Enable ' : 'Disable ') + ep.id);
    btn.addEventListener('click', function () { toggleEndpoint(ep.id, disabled, btn); });
    var lastErr = h.last_error ? el('span', null, el('code', null, String(h.last_error)), h.last_error_at ? el('span', { className: 'muted' }, ' ' + fmtTime(h.last_error_at)) : null) : '\u2014';
    return el('tr', { 'data-testid': 'endpoint-row', dataset: { id: String(ep.id) } },
      el('td', { 'data-col': 'id' }, el('code', null, String(ep.id))),
      el('td', { 'data-col': 'publisher' }, dash(ep.publisher_id)),
      el('td', { 'data-col': 'state', title: h.disabled_reason ? 'disabled: ' + h.disabled_reason : '' }, healthBadge(disabled ? 'disabled' : h.state)),
      el('td', { 'data-col': 'success', className: 'num', title: dash(h.attempts_5m) + ' attempts in 5 min' }, pct(h.success_rate_5m)),
      el('td', { 'data-col': 'p99', className: 'num' }, h.latency_p99_ms === null || h.latency_p99_ms === undefined ? '\u2014' : h.latency_p99_ms + ' ms'),
      el('td', { 'data-col': 'last-error' }, lastErr),
      el('td', { 'data-col': 'action' }, btn));
  }
  async function loadEndpoints() {
    var seq = ++endpointsSeq;
    try {
      var res = await apiJson('v1/endpoints');
      if (seq !== endpointsSeq) return;
      var list = Array.isArray(res.endpoints) ? res.endpoints : [];
      var tbody = $('endpoint-rows');
      clear(tbody);
      list.forEach(function (ep) { tbody.appendChild(endpointRow(ep)); });
      $('endpoints-empty').hidden = list.length !== 0;
      hideMessage();
    } catch (e) {
      if (seq === endpointsSeq) reportError(e);
    }
  }
  async function toggleEndpoint(id, enable, btn) {
    btn.disabled = true;
    try {
      var ep = await apiJson('v1/endpoints/' + encodeURIComponent(id) + '/' + (enable ? 'enable' : 'disable'), { method: 'POST', body: {} });
      var old = btn.closest('tr');
      var row = endpointRow(ep && ep.id ? ep : { id: id, health: { state: enable ? 'healthy' : 'disabled' } });
      if (old) old.replaceWith(row);
      row.querySelector('[data-testid=endpoint-toggle]').focus();
      setStatus((enable ? 'Enabled ' : 'Disabled ') + id + (enable ? '' : ': new events skip it, its pending postbacks end failed'));
    } catch (e) {
      btn.disabled = false;
      reportError(e);
    }
  }

  // ---------- wiring ----------
  function start() {
    if (detail.id) openDetail(detail.id);
    loadList();
    loadPickers();
    if (view !== 'postbacks') showView(view);
  }

  $('key-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    setKey($('key-input').value.trim());
    $('key-input').value = '';
    closeKeyDialog();
    start();
  });
  $('key-cancel').addEventListener('click', closeKeyDialog);
  var keyPanel = $('key-panel');
  keyPanel.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') {
      // No key yet: Escape does not leave the prompt (a keyless server takes the empty key).
      ev.preventDefault();
      ev.stopPropagation();
      if (getKey() !== null) closeKeyDialog();
      return;
    }
    if (ev.key !== 'Tab') return;
    var items = Array.prototype.filter.call(keyPanel.querySelectorAll('input, button'), function (n) { return !n.disabled && !n.hidden; });
    if (items.length === 0) return;
    var first = items[0];
    var last = items[items.length - 1];
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  });
  keyPanel.addEventListener('cancel', function (ev) { if (getKey() === null) ev.preventDefault(); });
  keyPanel.addEventListener('close', function () {
    // A close the page did not ask for (e.g. a close request the browser would not let it cancel).
    if (getKey() === null) askKey($('key-error').hidden ? '' : $('key-error').textContent);
  });
  $('change-key').addEventListener('click', function () { askKey(''); });
  $('filters').addEventListener('submit', function (ev) { ev.preventDefault(); loadList(); });
  $('filters').addEventListener('input', updateDirty);
  $('filters').addEventListener('change', updateDirty);
  $('clear').addEventListener('click', function () {
    ['filter-from', 'filter-to', 'filter-endpoint', 'filter-publisher', 'filter-event', 'filter-status'].forEach(function (id) { $(id).value = ''; });
    loadList();
  });
  Array.prototype.forEach.call(document.querySelectorAll('[data-range]'), function (b) {
    b.addEventListener('click', function () { setRange(b.dataset.range); loadList(); });
  });
  $('refresh').addEventListener('click', function () {
    loadList();
    if (detail.id) openDetail(detail.id);
  });
  $('next-page').addEventListener('click', function () { loadList(1); });
  Array.prototype.forEach.call(document.querySelectorAll('[data-view]'), function (b) {
    b.addEventListener('click', function () { showView(b.dataset.view); });
  });
  $('overview-range').addEventListener('change', loadOverview);
  $('overview-refresh').addEventListener('click', loadOverview);
  $('endpoints-refresh').addEventListener('click', loadEndpoints);
  $('prev-page').addEventListener('click', function () { loadList(-1); });
  $('download-csv').addEventListener('click', downloadCsv);
  $('message-close').addEventListener('click', hideMessage);
  $('detail-close').addEventListener('click', closeDetail);
  $('detail-reload').addEventListener('click', function () { if (detail.id) openDetail(detail.id); });
  $('replay').addEventListener('click', replay);
  $('test-endpoint').addEventListener('click', testEndpoint);

  var rows = $('rows');
  rows.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr[data-id]');
    if (tr) openDetail(tr.dataset.id, tr.dataset.id);
  });
  rows.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    var tr = ev.target.closest('tr[data-id]');
    if (tr) { ev.preventDefault(); openDetail(tr.dataset.id, tr.dataset.id); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && !$('key-panel').open && !$('detail').hidden) closeDetail();
  });

  $('tz-note').textContent = tzNote();
  showAuthState();
  if (getKey() === null) askKey('');
  else start();
})();
