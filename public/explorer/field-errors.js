// Errors shown in place, next to their field: the message in an element after the field,
// aria-invalid on the field, and the message's id in its aria-describedby.
import { el } from './dom.js';

function describedBy(input) {
  return (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
}

function errorBoxFor(input) {
  const id = input.id + '-error';
  let box = document.getElementById(id);
  if (!box) {
    box = el('p', { id, className: 'field-error', 'data-testid': 'field-error' });
    const holder = input.closest('[data-error-holder]') || input.closest('.field') || input.parentNode;
    holder.appendChild(box);
  }
  return box;
}

/** Shows `message` next to `input` (another message for it is added on a line of its own). */
export function setFieldError(input, message) {
  const box = errorBoxFor(input);
  box.textContent = box.hidden || !box.textContent ? message : box.textContent + '\n' + message;
  box.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  const ids = describedBy(input);
  if (ids.indexOf(box.id) < 0) input.setAttribute('aria-describedby', ids.concat(box.id).join(' '));
}

/** Clears every error shown in place under `root`. */
export function clearFieldErrors(root) {
  root.querySelectorAll('[aria-invalid=true]').forEach((input) => {
    input.removeAttribute('aria-invalid');
    const ids = describedBy(input).filter((id) => id !== input.id + '-error');
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  });
  root.querySelectorAll('.field-error').forEach((box) => {
    box.hidden = true;
    box.textContent = '';
  });
}
