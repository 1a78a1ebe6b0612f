// The endpoint form's fields: filled from a definition (as GET /v1/endpoints/:id shows it) or
// a preset's defaults, read back into a definition for PUT and the preview, parameter rows,
// and which field an API error's path names.
import { $, el } from './dom.js';

const MASK = '***';
let rowCounter = 0;

// What the form was filled from: the definition's fields the form does not show (headers,
// body, signing, timeouts...) are written back as they were, masked secrets included
// ("***" keeps a stored secret).
const loaded = { base: {}, hadToken: false };

const listText = (list) => (Array.isArray(list) ? list.join(', ') : '');
const listOf = (text) => text.split(/[\s,]+/).filter(Boolean);

function method() {
  return $('ef-method-post').checked ? 'POST' : 'GET';
}

function setMethod(m) {
  $('ef-method-post').checked = m === 'POST';
  $('ef-method-get').checked = m !== 'POST';
}

function renumberRows() {
  Array.from($('ef-param-rows').children).forEach((row, i) => {
    const [name, value] = row.querySelectorAll('input');
    const label = 'parameter ' + (i + 1);
    name.setAttribute('aria-label', 'Name of ' + label);
    value.setAttribute('aria-label', 'Value of ' + label);
    row.querySelector('button').setAttribute('aria-label', 'Remove ' + label + (name.value ? ' (' + name.value + ')' : ''));
  });
}

/** Adds a parameter row (its Remove button gives focus to the next row, or Add parameter); returns its name input. */
export function addParamRow(name, value) {
  const n = ++rowCounter;
  const nameInput = el('input', { id: 'ef-param-name-' + n, className: 'param-name', placeholder: 'name', spellcheck: 'false', 'data-testid': 'param-name' });
  const valueInput = el('input', { id: 'ef-param-value-' + n, className: 'param-value', placeholder: '{macro} or value', spellcheck: 'false', 'data-testid': 'param-value' });
  nameInput.value = name || '';
  valueInput.value = value === undefined || value === null ? '' : String(value);
  const remove = el('button', { type: 'button', className: 'param-remove', 'data-testid': 'param-remove' }, 'Remove');
  const row = el('div', { className: 'param-row', 'data-testid': 'param-row', 'data-error-holder': '' }, nameInput, el('span', { 'aria-hidden': 'true' }, '='), valueInput, remove);
  remove.addEventListener('click', () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumberRows();
    (next ? next.querySelector('input') : $('ef-param-add')).focus();
    $('endpoint-form').dispatchEvent(new Event('input'));
  });
  nameInput.addEventListener('input', renumberRows);
  $('ef-param-rows').appendChild(row);
  renumberRows();
  return nameInput;
}

function setParams(params) {
  $('ef-param-rows').replaceChildren();
  Object.entries(params || {}).forEach(([k, v]) => addParamRow(k, v));
}

function paramRows() {
  return Array.from($('ef-param-rows').children).map((row) => {
    const [name, value] = row.querySelectorAll('input');
    return { name, value };
  });
}

/** What the form writes back beside its own fields: `ep` as the API now shows it (e.g. after Enable). */
export function rebase(ep) {
  const base = { ...(ep || {}) };
  delete base.health;
  delete base.warnings;
  loaded.base = base;
  loaded.hadToken = base.security_token === MASK;
}

/** Selects preset `name`, adding an option for it if the list lacks it (a preset this page was not told of stays). */
function selectPreset(name) {
  const select = $('ef-preset');
  if (name && !Array.from(select.options).some((o) => o.value === name)) select.appendChild(el('option', { value: name }, name));
  select.value = name || '';
}

/**
 * Fills the form from an endpoint as the API shows it (secrets masked), or empties it
 * (`ep` null). Method, event types, states and the $0 switch show what applies: the
 * endpoint's own, else its `preset`'s default (the form writes them back as its own).
 * `publisher`: a publisher key's own id, fixed.
 */
export function fillForm(ep, publisher, preset) {
  const d = ep || {};
  const defaults = (preset && preset.defaults) || {};
  const own = (key) => (d[key] !== undefined && d[key] !== null ? d[key] : defaults[key]);
  rebase(ep);
  $('ef-id').value = d.id || '';
  $('ef-id').readOnly = !!ep;
  $('ef-publisher').value = publisher || d.publisher_id || '';
  $('ef-publisher').readOnly = !!publisher;
  $('ef-publisher-hint').textContent = publisher ? 'Your key\u2019s publisher: every endpoint it writes is publisher ' + publisher + '\u2019s.' : 'Events with this publisher_id fire it.';
  selectPreset(d.preset);
  setMethod(own('method') || 'GET');
  $('ef-url').value = d.url || '';
  setParams(d.params);
  $('ef-events').value = listText(own('events'));
  $('ef-states').value = listText(own('states'));
  $('ef-zero').checked = own('allow_zero_payout') === true;
  $('ef-token').value = '';
  $('ef-token-remove').checked = false;
  $('ef-token-remove-label').hidden = !loaded.hadToken;
  $('ef-token-hint').textContent = loaded.hadToken
    ? 'A token is stored (never shown): leave this blank to keep it, or type a new one. Fills {security_token}.'
    : 'Fills {security_token}. Write-only: never shown again.';
}

/** A preset's defaults into the fields it sets (its parameters only where they would apply: GET). */
export function applyPresetDefaults(preset) {
  const d = (preset && preset.defaults) || {};
  const m = d.method || 'GET';
  setMethod(m);
  if (m === 'GET' && d.params) setParams(d.params);
  else if (m !== 'GET') setParams({});
  $('ef-events').value = listText(d.events);
  $('ef-states').value = listText(d.states);
  $('ef-zero').checked = d.allow_zero_payout === true;
}

/** The endpoint as the form says it, for PUT and the preview. */
export function readDefinition() {
  const def = { ...loaded.base };
  const set = (key, value) => { if (value === undefined || value === '') delete def[key]; else def[key] = value; };
  set('id', $('ef-id').value.trim());
  set('publisher_id', $('ef-publisher').value.trim());
  set('preset', $('ef-preset').value);
  def.method = method();
  set('url', $('ef-url').value.trim());
  const rows = paramRows().filter((r) => r.name.value.trim() !== '' || r.value.value !== '');
  set('params', rows.length ? Object.fromEntries(rows.map((r) => [r.name.value.trim(), r.value.value])) : undefined);
  const events = listOf($('ef-events').value);
  const states = listOf($('ef-states').value);
  set('events', events.length ? events : undefined);
  set('states', states.length ? states : undefined);
  def.allow_zero_payout = $('ef-zero').checked;
  const token = $('ef-token').value;
  if (token !== '') def.security_token = token;
  else if ($('ef-token-remove').checked) def.security_token = null;
  else set('security_token', loaded.hadToken ? MASK : undefined);
  return def;
}

/** What the page itself refuses before asking the API: [{input, message}]. */
export function localProblems() {
  const problems = [];
  if ($('ef-id').value.trim() === '') problems.push({ input: $('ef-id'), message: 'An endpoint needs an id.' });
  const seen = new Set();
  paramRows().forEach(({ name, value }) => {
    const n = name.value.trim();
    if (n === '' && value.value !== '') problems.push({ input: name, message: 'This parameter needs a name.' });
    else if (n !== '' && seen.has(n)) problems.push({ input: name, message: 'The parameter ' + JSON.stringify(n) + ' appears twice.' });
    seen.add(n);
  });
  return problems;
}

const FIELD_INPUTS = { id: 'ef-id', publisher_id: 'ef-publisher', preset: 'ef-preset', method: 'ef-method-get', url: 'ef-url', events: 'ef-events', states: 'ef-states', allow_zero_payout: 'ef-zero', security_token: 'ef-token' };

/** The input an API error path names (endpoint.url, endpoint.params.NAME, endpoint.events[0]), or null. */
export function inputForPath(path) {
  const m = /^endpoint\.([a-z_]+)(?:[.[](.*))?$/.exec(String(path || ''));
  if (!m) return null;
  if (m[1] === 'params' && m[2] !== undefined) {
    const row = paramRows().find((r) => r.name.value.trim() === m[2]);
    return row ? row.value : null;
  }
  return Object.prototype.hasOwnProperty.call(FIELD_INPUTS, m[1]) ? $(FIELD_INPUTS[m[1]]) : null;
}
