// Test endpoint (POST /v1/endpoints/:id/test): one synchronous attempt, its result shown in a
// box: ok or failed, the HTTP status and time, the error in words, the request as sent
// (secrets masked) and the response excerpt. Used by the postback detail and the endpoint form.
import { apiJson, endpointPath } from './api-client.js';
import { clear, dash, el } from './dom.js';
import { errorText, prettyBody } from './format.js';
import { reportError } from './messages.js';

function render(box, id, t) {
  const resp = t.response || {};
  clear(box);
  box.className = 'result ' + (t.ok ? 'good' : 'bad');
  const error = t.error
    ? el('span', { className: 'err' }, ' \u2014 ' + errorText({ error: t.error, status_code: resp.status_code, duration_ms: resp.duration_ms }) + ' ', el('code', { title: 'error class' }, String(t.error)))
    : null;
  box.appendChild(el('div', null,
    el('span', { className: 'badge ' + (t.ok ? 'ok' : 'bad'), 'data-testid': 'test-ok' }, t.ok ? 'ok' : 'failed'),
    ' Test of ', el('code', null, String(id)), ': HTTP ',
    el('strong', { 'data-testid': 'test-status' }, dash(resp.status_code)),
    ' in ' + dash(resp.duration_ms) + ' ms', error));
  if (t.request) {
    const body = prettyBody(t.request.body);
    box.appendChild(el('pre', { 'data-testid': 'test-request' }, dash(t.request.method) + ' ' + dash(t.request.url) + (body ? '\n\n' + body : '')));
  }
  box.appendChild(el('div', { className: 'muted excerpt-label' }, 'Response excerpt:'));
  box.appendChild(el('pre', { 'data-testid': 'test-excerpt' }, resp.body_excerpt ? String(resp.body_excerpt) : '(empty)'));
}

/** Tests endpoint `id` and shows the outcome in `box`; an API error goes to the message area. */
export async function testEndpointInto(box, id) {
  box.className = 'result';
  clear(box);
  box.appendChild(el('span', { className: 'muted' }, 'Testing endpoint ' + id + '\u2026'));
  box.hidden = false;
  try {
    const t = await apiJson(endpointPath(id, '/test'), { method: 'POST', body: {} });
    render(box, id, t);
    return t;
  } catch (e) {
    box.hidden = true;
    reportError(e);
    return null;
  }
}
