// The endpoint form's live preview (POST /v1/endpoints/preview): the request the settings as
// typed would send for the preset's sample event, rendered by the dispatcher's own templates,
// secrets masked. Asked again 250 ms after the last change; an answer for settings that
// changed since it was asked is dropped.
import { ApiError, apiJson } from './api-client.js';
import { $, dash } from './dom.js';
import { prettyBody } from './format.js';

const DELAY_MS = 250;
let timer = null;
let seqNow = 0;

// Why a sample event would not fire the endpoint, in words (SPEC's skip reasons).
const SKIPPED = {
  disabled: 'the endpoint is disabled',
  event_type: 'its type is not among the event types',
  state: 'its state is not among the states',
  zero_payout: 'its payout is 0 and $0 postbacks are off',
};

function requestText(req) {
  const headers = req.headers && typeof req.headers === 'object' ? req.headers : {};
  const lines = [dash(req.method) + ' ' + dash(req.url)].concat(Object.keys(headers).map((h) => h + ': ' + headers[h]));
  const body = prettyBody(req.body);
  return lines.join('\n') + (body ? '\n\n' + body : '');
}

function show(text, note, event) {
  $('ef-preview').textContent = text;
  $('ef-preview-note').textContent = note;
  $('ef-preview-event').textContent = event ? JSON.stringify(event, null, 2) : '';
}

function render(p, def) {
  const from = def.preset ? 'the ' + def.preset + ' preset\u2019s sample event' : 'a sample conversion';
  const parts = ['As it would be sent for ' + from + ' (secrets masked; ids and times differ per postback).'];
  if (p.skipped) parts.push('This event would not fire it: ' + (SKIPPED[p.skipped] || p.skipped) + '.');
  (p.warnings || []).forEach((w) => parts.push('Warning: ' + w + '.'));
  show(requestText(p.request || {}), parts.join(' '), p.event);
}

/**
 * Renders the preview of `readDefinition()` after a pause; `onErrors(details)` gets the
 * fields the API refused (an empty list once it renders). A 404 is an id of an endpoint the
 * key may not see.
 */
export function schedulePreview(readDefinition, onErrors) {
  clearTimeout(timer);
  seqNow++; // an answer still on its way is for settings that changed since: drop it
  timer = setTimeout(() => runPreview(readDefinition(), onErrors), DELAY_MS);
}

/** Forgets a pending preview (the form was closed). */
export function cancelPreview() {
  clearTimeout(timer);
  seqNow++;
}

async function runPreview(def, onErrors) {
  const seq = ++seqNow;
  if (!def.url) {
    show('', 'Enter a URL template to see the request it sends.', null);
    onErrors([]);
    return;
  }
  $('ef-preview').setAttribute('aria-busy', 'true');
  try {
    const p = await apiJson('v1/endpoints/preview', { method: 'POST', body: { endpoint: def } });
    if (seq !== seqNow) return;
    render(p, def);
    onErrors([]);
  } catch (e) {
    if (seq !== seqNow) return;
    if (e instanceof ApiError && e.status === 400) {
      show('', 'Cannot render these settings: ' + e.details.map((d) => d.path + ' ' + d.message).join('; '), null);
      onErrors(e.details);
    } else if (e instanceof ApiError && e.status === 404) {
      show('', 'No preview: ' + e.message + '.', null);
      onErrors([{ path: 'endpoint.id', message: 'This id belongs to an endpoint this key cannot see: choose another.' }]);
    } else {
      show('', 'No preview: ' + (e && e.message ? e.message : String(e)), null);
    }
  } finally {
    if (seq === seqNow) $('ef-preview').removeAttribute('aria-busy');
  }
}
