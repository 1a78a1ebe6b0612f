// The API key: asked for in a modal dialog, kept in sessionStorage for the tab (in memory
// when storage is off), forgotten when the API refuses it.
import { $ } from './dom.js';

const KEY_STORE = 'postback-explorer.api-key';
let memoryKey = null;

/** The key: null when none was given yet, '' for a keyless server. */
export function getKey() {
  try { return sessionStorage.getItem(KEY_STORE); } catch { return memoryKey; }
}

function setKey(k) {
  memoryKey = k;
  try { sessionStorage.setItem(KEY_STORE, k); } catch { /* storage disabled: memory only */ }
  showAuthState();
}

export function forgetKey() {
  memoryKey = null;
  try { sessionStorage.removeItem(KEY_STORE); } catch { /* ignore */ }
  showAuthState();
}

/** The header's note on the key; `who` (from GET /v1/whoami) names its kind once known. */
export function showAuthState(who) {
  const k = getKey();
  $('auth-state').textContent = k === null ? 'no key'
    : who && who.kind === 'publisher' ? 'publisher ' + who.publisher_id
    : who && who.kind === 'operator' ? (k === '' ? 'operator (open server)' : 'operator key')
    : k === '' ? 'no key (open server)' : 'key set';
}

// The prompt is a modal <dialog>: the rest of the page is inert while it is open, Tab cycles
// inside it, and Escape (or Cancel) leaves it only once a key, possibly the empty one of a
// keyless server, has been given.
let returnFocus = null;

export function askKey(errorText) {
  const err = $('key-error');
  err.textContent = errorText || '';
  err.hidden = !errorText;
  $('key-input').value = '';
  $('key-cancel').hidden = getKey() === null;
  const dlg = $('key-panel');
  if (!dlg.open) {
    const active = document.activeElement;
    returnFocus = active && active !== document.body && !dlg.contains(active) ? active : null;
    dlg.showModal();
  }
  $('key-input').focus();
}

function closeKeyDialog() {
  const dlg = $('key-panel');
  if (dlg.open) dlg.close();
  const back = returnFocus;
  returnFocus = null;
  if (back && document.contains(back)) back.focus();
}

/** Wires the dialog; `onKey` runs after a key was given. */
export function wireKeyDialog(onKey) {
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setKey($('key-input').value.trim());
    $('key-input').value = '';
    closeKeyDialog();
    onKey();
  });
  $('key-cancel').addEventListener('click', closeKeyDialog);
  const panel = $('key-panel');
  panel.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      // No key yet: Escape does not leave the prompt (a keyless server takes the empty key).
      ev.preventDefault();
      ev.stopPropagation();
      if (getKey() !== null) closeKeyDialog();
      return;
    }
    if (ev.key !== 'Tab') return;
    const items = Array.from(panel.querySelectorAll('input, button')).filter((n) => !n.disabled && !n.hidden);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  });
  panel.addEventListener('cancel', (ev) => { if (getKey() === null) ev.preventDefault(); });
  panel.addEventListener('close', () => {
    // A close the page did not ask for (e.g. a close request the browser would not let it cancel).
    if (getKey() === null) askKey($('key-error').hidden ? '' : $('key-error').textContent);
  });
  $('change-key').addEventListener('click', () => askKey(''));
}
