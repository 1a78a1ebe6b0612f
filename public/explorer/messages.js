// The message area (#message, role=alert): API errors in words, with the server's details.
import { ApiError } from './api-client.js';
import { $, clear, dash, el } from './dom.js';

export function showMessage(text, details, kind, serverText) {
  $('message-text').textContent = text;
  $('message-server').textContent = serverText ? 'Server said: ' + serverText : '';
  $('message-server').hidden = !serverText;
  const ul = $('message-details');
  clear(ul);
  (details || []).forEach((d) => {
    ul.appendChild(el('li', null, el('code', null, dash(d && d.path)), ': ', dash(d && d.message)));
  });
  $('message').className = kind === 'info' ? 'info' : '';
  $('message').hidden = false;
}

export function hideMessage() {
  $('message').hidden = true;
}

/** Shows what went wrong: a 401 is the key dialog's, a 503 says Redis (or the store) is away. */
export function reportError(e) {
  if (e instanceof ApiError) {
    if (e.status === 401) return; // the key panel says it
    if (e.status === 503) {
      // SPEC: a route that needs Redis (or the history store) answers 503 while it is unreachable.
      const what = /^Redis\b/i.test(e.message) ? 'Redis' : 'its data store';
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

/** Wires the message area's Dismiss button. */
export function wireMessages() {
  $('message-close').addEventListener('click', hideMessage);
}
