import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileEndpoint } from '../../src/endpoints/compile-endpoint.js';
import { validateEvent } from '../../src/events/validate-event.js';

/** docs/presets.md must match what the code sends: every example is rendered and compared. */
const doc = readFileSync('docs/presets.md', 'utf8');
const blocks = [...doc.matchAll(/```(json endpoint|json event|http)\n([\s\S]*?)```/g)].map((m) => ({ kind: m[1], text: m[2]!.trim() }));
const examples: { endpoint: string; event: string; http: string }[] = [];
for (let i = 0; i + 2 < blocks.length + 0; i++) {
  const [a, b, c] = [blocks[i], blocks[i + 1], blocks[i + 2]];
  if (a?.kind === 'json endpoint' && b?.kind === 'json event' && c?.kind === 'http') {
    examples.push({ endpoint: a.text, event: b.text, http: c.text });
    i += 2;
  }
}

describe('docs/presets.md', () => {
  it('has an example per seed network and recipe', () => {
    expect(examples.length).toBeGreaterThanOrEqual(7);
  });

  it.each(examples.map((e) => [JSON.parse(e.endpoint).id as string, e]))('%s renders exactly as documented', (_id, e) => {
    const endpoint = compileEndpoint(JSON.parse(e.endpoint), { requestTimeoutMs: 10000, retryScheduleS: [0, 60, 90, 120, 150] });
    const request = endpoint.render(validateEvent(JSON.parse(e.event)), 'PBID');
    const [head, ...rest] = e.http.split('\n\n');
    const [requestLine, ...headerLines] = head!.split('\n');
    expect(requestLine).toBe(`${request.method} ${request.url}`);
    for (const h of headerLines) {
      const [name, value] = h.split(': ');
      expect(request.headers[name!]).toBe(value);
    }
    expect(rest.join('\n\n') || null).toBe(request.body);
  });
});
