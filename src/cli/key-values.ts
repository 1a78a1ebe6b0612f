import { UsageError } from './cli-error.js';

/**
 * `key=value` arguments into an event: `payload.a.b=v` nests into payload; values that
 * look like numbers or booleans become them (so `payout=0.5` is a number).
 */
export function parseKeyValues(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    const value = typed(pair.slice(eq + 1));
    const path = key.split('.');
    let node = out;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i] as string;
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw new UsageError(`field ${JSON.stringify(key)} is not allowed`);
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    Object.defineProperty(node, path.at(-1) as string, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function typed(v: string): string | number | boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(v)) return Number(v);
  return v;
}
