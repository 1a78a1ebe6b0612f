// DOM building for the Explorer. Every value from the API is put in with textContent or text
// nodes, never as HTML.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/**
 * A new element: `props` sets text, className, dataset or attributes; the other arguments are
 * children (nodes, or anything else as text; null and undefined are skipped).
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') node.textContent = v;
    else if (k === 'className') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  append(node, children);
  return node;
}

/** Appends nodes, or anything else as text; skips null and undefined. */
export function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** A value for a cell: an em dash for nothing. */
export function dash(v) {
  return v === null || v === undefined || v === '' ? '\u2014' : String(v);
}

/** A postback status as a coloured badge. */
export function badge(status) {
  const s = String(status);
  const cls = /^(queued|retrying|delivered|failed)$/.test(s) ? s : 'queued';
  return el('span', { className: 'badge ' + cls, 'data-testid': 'status-badge' }, s);
}

/** One status message in the page's polite live region (#status): text and nodes. */
export function setStatus(...parts) {
  const box = $('status');
  clear(box);
  append(box, parts);
}
