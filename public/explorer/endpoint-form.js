// The endpoint settings form in the Endpoints view: create a new endpoint or edit one, with
// its preset, method, URL template, parameters, event types, states, the $0 switch and the
// write-only security token; a live preview; Save (PUT) with the API's errors shown next to
// their fields; Test and Enable/Disable of the saved endpoint. A publisher key's endpoints
// are its publisher's (the field is fixed).
import { ApiError, apiJson, endpointPath } from './api-client.js';
import { $, clear, dash, el, setStatus } from './dom.js';
import { addParamRow, applyPresetDefaults, fillForm, inputForPath, localProblems, readDefinition, rebase } from './endpoint-form-fields.js';
import { cancelPreview, schedulePreview } from './endpoint-preview.js';
import { testEndpointInto } from './endpoint-test.js';
import { healthBadge, isDisabled, loadEndpoints, switchEndpoint } from './endpoints-view.js';
import { clearFieldErrors, setFieldError } from './field-errors.js';
import { loadPickers } from './history-filters.js';
import { hideMessage, reportError } from './messages.js';
import { whoami } from './whoami.js';

// id: the saved endpoint's (null while new); endpoint: it as the API last showed it;
// snapshot: the form's definition when it was last loaded or saved; tried: Save was pressed.
const editor = { id: null, endpoint: null, opener: null, publisher: '', snapshot: '', tried: false };
let presets = null;

function loadPresets() {
  if (!presets) {
    presets = apiJson('v1/presets').then((r) => {
      const list = Array.isArray(r.presets) ? r.presets : [];
      const select = $('ef-preset');
      while (select.options.length > 1) select.remove(1);
      list.forEach((p) => select.appendChild(el('option', { value: p.name }, p.name + ' \u2014 ' + p.network)));
      return list;
    }, (e) => {
      presets = null;
      reportError(e);
      return [];
    });
  }
  return presets;
}

/** The preset an endpoint names, from GET /v1/presets (undefined: none, or one unknown here). */
async function presetOf(ep) {
  return ep && ep.preset ? (await loadPresets()).find((p) => p.name === ep.preset) : undefined;
}

/**
 * Shows problems in place: [{path, message}] from the API or [{input, message}] from the
 * page. Those naming no field of the form are listed at its top. Returns what to focus.
 */
function showErrors(problems) {
  clearFieldErrors($('endpoint-form'));
  const list = $('ef-error-list');
  clear(list);
  let first = null;
  problems.forEach((p) => {
    const input = p.input || inputForPath(p.path);
    if (input) {
      setFieldError(input, p.message);
      first = first || input;
    } else list.appendChild(el('li', null, el('code', null, dash(p.path)), ': ', dash(p.message)));
  });
  $('ef-errors').hidden = !list.firstChild;
  return first || (list.firstChild ? $('ef-errors') : null);
}

/** The preview's verdict on the fields; after a Save attempt, with the page's own checks. */
function previewErrors(details) {
  showErrors(editor.tried ? localProblems().concat(details) : details);
}

function refreshPreview() {
  schedulePreview(readDefinition, previewErrors);
}

/** Shows the saved endpoint's state on the toggle and the badge. */
function showSwitch() {
  const ep = editor.endpoint;
  const badge = $('ef-state');
  clear(badge);
  if (ep) badge.appendChild(healthBadge(isDisabled(ep) ? 'disabled' : ep.health && ep.health.state));
  const toggle = $('ef-toggle');
  toggle.textContent = ep && isDisabled(ep) ? 'Enable' : 'Disable';
}

/** After a load or a save: `ep` (as the API shows it, or null while new) is what is stored. */
function setSaved(ep) {
  editor.id = ep ? String(ep.id) : null;
  editor.endpoint = ep;
  $('ef-title').textContent = ep ? 'Edit endpoint ' + ep.id : 'New endpoint';
  $('ef-test').disabled = !ep;
  $('ef-toggle').disabled = !ep;
  $('ef-actions-hint').hidden = !!ep;
  showSwitch();
  editor.snapshot = JSON.stringify(readDefinition());
}

/** Opens the form on endpoint `id` (null: a new one); `opener` gets focus back on Close. */
export async function openEndpointEditor(id, opener) {
  editor.opener = opener || null;
  const [who] = await Promise.all([whoami(), loadPresets()]);
  editor.publisher = who && who.kind === 'publisher' ? String(who.publisher_id) : '';
  let ep = null;
  if (id) {
    try {
      ep = await apiJson(endpointPath(id));
    } catch (e) {
      reportError(e);
      return;
    }
  }
  cancelPreview();
  editor.tried = false;
  showErrors([]);
  fillForm(ep, editor.publisher, await presetOf(ep));
  setSaved(ep);
  $('ef-test-result').hidden = true;
  $('endpoint-editor').hidden = false;
  refreshPreview();
  (ep ? $('ef-title') : $('ef-id')).focus();
}

function closeEditor() {
  cancelPreview();
  $('endpoint-editor').hidden = true;
  const row = editor.id ? document.querySelector('[data-testid=endpoint-edit][data-id="' + CSS.escape(editor.id) + '"]') : null;
  const back = editor.opener && document.contains(editor.opener) ? editor.opener : row || $('endpoint-new');
  back.focus();
}

async function save(ev) {
  ev.preventDefault();
  editor.tried = true;
  const local = localProblems();
  if (local.length) {
    showErrors(local).focus();
    setStatus('Not saved: ' + local.length + ' field' + (local.length === 1 ? '' : 's') + ' to fix, marked in the form.');
    return;
  }
  const def = readDefinition();
  const btn = $('ef-save');
  btn.disabled = true;
  try {
    const saved = await apiJson(endpointPath(def.id), { method: 'PUT', body: def });
    hideMessage();
    showErrors([]);
    editor.tried = false;
    fillForm(saved, editor.publisher, await presetOf(saved));
    setSaved(saved);
    const warnings = Array.isArray(saved.warnings) ? saved.warnings : [];
    setStatus('Saved endpoint ' + saved.id + (warnings.length ? ' \u2014 warning: ' + warnings.join('; ') : ''));
    refreshPreview();
    loadEndpoints();
    loadPickers();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 400 || e.status === 404)) {
      const problems = e.status === 404
        ? [{ path: 'endpoint.id', message: 'This id belongs to an endpoint this key cannot see (' + e.message + '): choose another.' }]
        : e.details.length ? e.details : [{ path: 'endpoint', message: e.message }];
      const first = showErrors(problems);
      setStatus('Not saved: ' + problems.length + ' problem' + (problems.length === 1 ? '' : 's') + ', marked in the form.');
      if (first) first.focus();
    } else reportError(e);
  } finally {
    btn.disabled = false;
  }
}

async function test() {
  if (!editor.id) return;
  const changed = JSON.stringify(readDefinition()) !== editor.snapshot;
  const btn = $('ef-test');
  const box = $('ef-test-result');
  btn.disabled = true;
  try {
    const result = await testEndpointInto(box, editor.id);
    if (result && changed) box.appendChild(el('p', { className: 'muted' }, 'Tested the saved settings: Save to test your changes.'));
  } finally {
    btn.disabled = false;
  }
}

async function toggle() {
  if (!editor.endpoint) return;
  const btn = $('ef-toggle');
  btn.disabled = true;
  try {
    const ep = await switchEndpoint(editor.id, isDisabled(editor.endpoint));
    editor.endpoint = ep;
    rebase(ep);
    showSwitch();
    loadEndpoints();
  } catch (e) {
    reportError(e);
  } finally {
    btn.disabled = false;
  }
}

export function wireEndpointForm() {
  const form = $('endpoint-form');
  $('endpoint-new').addEventListener('click', (ev) => openEndpointEditor(null, ev.currentTarget));
  $('ef-close').addEventListener('click', closeEditor);
  $('ef-preset').addEventListener('change', async () => {
    const name = $('ef-preset').value;
    if (name) applyPresetDefaults((await loadPresets()).find((p) => p.name === name));
    refreshPreview();
  });
  $('ef-param-add').addEventListener('click', () => {
    addParamRow('', '').focus();
    refreshPreview();
  });
  form.addEventListener('input', refreshPreview);
  form.addEventListener('change', refreshPreview);
  form.addEventListener('submit', save);
  $('ef-test').addEventListener('click', test);
  $('ef-toggle').addEventListener('click', toggle);
}
