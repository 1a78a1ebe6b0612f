import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricsRoutes } from '../../src/api/routes/metrics.js';
import type { EndpointRegistry } from '../../src/endpoints/registry.js';
import type { HealthBoard } from '../../src/health/health-board.js';
import { HEALTH_STATES } from '../../src/health/health-state.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { registerScrapeGauges } from '../../src/health/scrape-gauges.js';
import type { Runtime } from '../../src/runtime/runtime.js';

/**
 * deploy/: the Grafana dashboard, the Prometheus alerting rules and scrape config. Every
 * PromQL expression may only name metrics (and labels) that the code registers: the
 * registry of a process is built here as the API and a worker build it.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// ---- what the code registers -------------------------------------------------------------

/** Series name -> label names (Prometheus adds job and instance; histograms add le to _bucket). */
const known = new Map<string, Set<string>>([['up', new Set(['job', 'instance'])]]);
/** Label name -> values seen after one collect with stub sources (scrape-time gauges only). */
const seenValues = new Map<string, Map<string, Set<string>>>();

/** Sources for the scrape-time gauges: no Redis, one healthy endpoint, empty lanes. */
const stubSources = {
  queues: { fast: { getJobCounts: () => Promise.resolve({ waiting: 0, delayed: 0, active: 0, prioritized: 0 }) } },
  registry: { refresh: () => Promise.resolve(), list: () => [{ id: 'ep', enabled: true }], broken: new Map() } as unknown as EndpointRegistry,
  health: { refresh: () => Promise.resolve(), stateOf: () => 'healthy' } as unknown as HealthBoard,
};

async function collectRegistry(registry: Registry): Promise<void> {
  for (const metric of await registry.getMetricsAsJSON()) {
    const labels = (registry.getSingleMetric(metric.name) as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    const base = new Set([...labels, 'job', 'instance']);
    // prom-client's types say a numeric enum; at runtime the JSON carries 'counter', 'histogram'...
    const type = String(metric.type);
    if (type === 'histogram') {
      known.set(`${metric.name}_bucket`, new Set([...base, 'le']));
      known.set(`${metric.name}_sum`, base);
      known.set(`${metric.name}_count`, base);
    } else if (type === 'summary') {
      known.set(metric.name, new Set([...base, 'quantile']));
      known.set(`${metric.name}_sum`, base);
      known.set(`${metric.name}_count`, base);
    } else {
      known.set(metric.name, base);
    }
    const values = new Map<string, Set<string>>();
    for (const v of metric.values) {
      for (const [k, val] of Object.entries(v.labels)) {
        if (!values.has(k)) values.set(k, new Set());
        values.get(k)!.add(String(val));
      }
    }
    if (values.size > 0) seenValues.set(metric.name, values);
  }
}

beforeAll(async () => {
  // A worker-only process: the Metrics counters and the shared scrape-time gauges.
  const worker = new Metrics();
  registerScrapeGauges(worker.registry, stubSources);
  await collectRegistry(worker.registry);
  // The API: the same, through its /metrics route (which adds history size).
  const api = new Metrics();
  const fakeApp = { get: () => undefined } as unknown as FastifyInstance;
  const fakeRuntime = { ...stubSources, metrics: api, redis: { zcard: () => Promise.resolve(0), xlen: () => Promise.resolve(0) }, keys: { index: 'i', outbox: 'o' }, historyStore: { kind: 'postgres' } } as unknown as Runtime;
  metricsRoutes(fakeApp, fakeRuntime);
  await collectRegistry(api.registry);
});

// ---- PromQL, as far as these files need it ----------------------------------------------

const FUNCTIONS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev',
  'rate', 'irate', 'increase', 'delta', 'deriv', 'absent', 'vector', 'scalar', 'clamp_min', 'clamp_max',
  'histogram_quantile', 'label_replace', 'time', 'abs',
]);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

interface Selector {
  readonly metric: string | undefined;
  readonly matchers: { label: string; op: string; value: string }[];
}

/** The metric names, selectors and grouping labels of one expression. */
function analyse(expr: string): { names: string[]; selectors: Selector[]; grouping: string[]; functions: string[] } {
  const strings: string[] = [];
  let s = expr.replace(/"((?:[^"\\]|\\.)*)"/g, (_m, v: string) => `"${strings.push(v) - 1}"`);
  const selectors: Selector[] = [];
  s = s.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_m, metric: string | undefined, body: string) => {
    const matchers = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(\d+)"/g)].map((m) => ({ label: m[1]!, op: m[2]!, value: strings[Number(m[3])]! }));
    selectors.push({ metric, matchers });
    return metric === undefined ? ' ' : ` ${metric} `;
  });
  s = s.replace(/\[[^\]]*\]/g, ' ');
  const grouping: string[] = [];
  s = s.replace(GROUPING, (_m, _kw: string, labels: string) => {
    grouping.push(...labels.split(',').map((l) => l.trim()).filter((l) => l !== ''));
    return ' ';
  });
  s = s.replace(/"\d+"/g, ' ').replace(/(^|[^a-zA-Z0-9_:])\d+(\.\d+)?(e[+-]?\d+)?/gi, '$1 ');
  const names: string[] = [];
  const functions: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) functions.push(m[0]);
    else if (!KEYWORDS.has(m[0].toLowerCase())) names.push(m[0]);
  }
  return { names, selectors, grouping, functions };
}

function checkExpression(expr: string, where: string): void {
  expect(expr.trim(), `${where}: empty expression`).not.toBe('');
  for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']] as const) {
    let depth = 0;
    for (const ch of expr) {
      if (ch === open) depth++;
      if (ch === close) depth--;
      expect(depth, `${where}: unbalanced ${open}${close} in ${expr}`).toBeGreaterThanOrEqual(0);
    }
    expect(depth, `${where}: unbalanced ${open}${close} in ${expr}`).toBe(0);
  }
  const { names, selectors, grouping, functions } = analyse(expr);
  expect(names.length, `${where}: no metric in ${expr}`).toBeGreaterThan(0);
  for (const f of functions) expect(FUNCTIONS.has(f), `${where}: unknown function ${f}() in ${expr}`).toBe(true);
  for (const n of names) expect(known.has(n), `${where}: ${n} is not a metric the code registers (${expr})`).toBe(true);
  const labelsInScope = new Set(names.flatMap((n) => [...(known.get(n) ?? [])]));
  for (const l of grouping) expect(labelsInScope.has(l), `${where}: no metric of ${expr} has the label ${l}`).toBe(true);
  for (const sel of selectors) {
    expect(sel.metric, `${where}: a selector without a metric name in ${expr}`).toBeDefined();
    const labels = known.get(sel.metric!) ?? new Set<string>();
    for (const m of sel.matchers) {
      expect(labels.has(m.label), `${where}: ${sel.metric} has no label ${m.label}`).toBe(true);
      const values = seenValues.get(sel.metric!)?.get(m.label);
      if (values === undefined || (m.op !== '=' && m.op !== '=~')) continue;
      // Only plain alternatives (a|b|c) are checked against the values the gauge reports.
      if (m.op === '=~' && !/^[a-z0-9_|]+$/.test(m.value)) continue;
      for (const v of m.value.split('|')) expect(values.has(v), `${where}: ${sel.metric}{${m.label}} is never "${v}" (${[...values].join(', ')})`).toBe(true);
    }
  }
}

// ---- the files ---------------------------------------------------------------------------

interface Rule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
const alerts = parse(read('deploy/prometheus-alerts.yml')) as { groups?: { name?: unknown; rules?: Rule[] }[] };
const rules = (alerts.groups ?? []).flatMap((g) => g.rules ?? []);
const scrape = parse(read('deploy/prometheus.yml')) as { rule_files?: string[]; scrape_configs?: { job_name: string; metrics_path?: string }[] };
const jobs = new Set((scrape.scrape_configs ?? []).map((c) => c.job_name));

interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: { refId?: unknown; expr?: unknown }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(read('deploy/grafana-dashboard.json')) as {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: string }[] };
};
const allPanels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = allPanels.filter((p) => p.type !== 'row');
const dashboardExprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: String(p.title), expr: t.expr })));
const jobsIn = (expr: string): string[] => [...expr.matchAll(/\bjob\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);

describe('what the code registers', () => {
  it('is every metric name written in src/ (the registry built here misses none)', () => {
    const written = new Set<string>();
    const scan = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) scan(path);
        else if (entry.name.endsWith('.ts')) {
          for (const m of readFileSync(path, 'utf8').matchAll(/(?:\bname:\s*|_METRIC\s*=\s*)'(postback_[a-z0-9_]+)'/g)) written.add(m[1]!);
        }
      }
    };
    scan(join(ROOT, 'src'));
    expect(written.size).toBeGreaterThanOrEqual(10);
    for (const name of written) expect(known.has(name) || known.has(`${name}_bucket`), name).toBe(true);
    for (const name of ['postback_queue_jobs', 'postback_endpoint_state', 'postback_attempts_total', 'postback_attempt_duration_seconds_bucket']) {
      expect(known.has(name), name).toBe(true);
    }
    expect(seenValues.get('postback_endpoint_state')?.get('state')).toEqual(new Set(HEALTH_STATES));
  });

  it('registers the scrape-time gauges once per registry, however often asked', async () => {
    const metrics = new Metrics(false);
    registerScrapeGauges(metrics.registry, stubSources);
    expect(() => registerScrapeGauges(metrics.registry, stubSources)).not.toThrow();
    const text = await metrics.registry.metrics();
    expect(text.match(/^# TYPE postback_queue_jobs gauge$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE postback_endpoint_state gauge$/gm)).toHaveLength(1);
    expect(text).toMatch(/^postback_endpoint_state\{endpoint_id="ep",state="healthy"\} 1$/m);
  });
});

describe('deploy/prometheus-alerts.yml', () => {
  it('is a rule file: groups with a name and rules', () => {
    expect(Array.isArray(alerts.groups)).toBe(true);
    for (const g of alerts.groups!) {
      expect(typeof g.name).toBe('string');
      expect(Array.isArray(g.rules) && g.rules.length > 0, String(g.name)).toBe(true);
    }
    expect(rules.length).toBeGreaterThanOrEqual(5);
  });

  it('gives every alert a unique name, expr, for, labels.severity and annotations.summary', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(typeof r.expr, `${r.alert}: expr`).toBe('string');
      expect(String(r.for), `${r.alert}: for`).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info'], `${r.alert}: labels.severity`).toContain(r.labels?.severity);
      expect(typeof r.annotations?.summary === 'string' && r.annotations.summary.length > 0, `${r.alert}: annotations.summary`).toBe(true);
    }
  });

  it('uses only metrics and labels that the code registers', () => {
    for (const r of rules) checkExpression(String(r.expr), String(r.alert));
  });

  it('covers queue depth, failure rate, open or disabled endpoints and an unscraped worker', () => {
    const exprs = rules.map((r) => String(r.expr));
    expect(exprs.some((e) => e.includes('postback_queue_jobs') && e.includes('deriv('))).toBe(true);
    expect(exprs.some((e) => /postback_queue_jobs\{[^}]*\}\)? > \d+/.test(e))).toBe(true);
    expect(exprs.some((e) => e.includes('postback_deliveries_total{outcome="failed"}') && e.includes('/'))).toBe(true);
    expect(exprs.some((e) => e.includes('postback_endpoint_state{state=~"open|disabled"}') && /== 1$/.test(e.trim()))).toBe(true);
    expect(exprs).toContain('up{job="postback-worker"} == 0');
  });

  it('names only the jobs deploy/prometheus.yml scrapes, which loads this file', () => {
    expect(scrape.rule_files).toContain('prometheus-alerts.yml');
    expect(jobs).toEqual(new Set(['postback-api', 'postback-worker']));
    for (const r of rules) for (const job of jobsIn(String(r.expr))) expect(jobs.has(job), `${r.alert}: job ${job}`).toBe(true);
  });
});

describe('deploy/grafana-dashboard.json', () => {
  it('is a dashboard: uid, title, schemaVersion, a Prometheus datasource variable, panels with unique ids on a 24-column grid', () => {
    expect(typeof dashboard.uid).toBe('string');
    expect(typeof dashboard.title).toBe('string');
    expect(typeof dashboard.schemaVersion).toBe('number');
    expect(dashboard.templating?.list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' })]));
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of allPanels) {
      expect(typeof p.id, String(p.title)).toBe('number');
      expect(typeof p.type, String(p.title)).toBe('string');
      expect(typeof p.title === 'string' && p.title.length > 0).toBe(true);
      const g = p.gridPos!;
      expect(g.x + g.w, String(p.title)).toBeLessThanOrEqual(24);
      expect(g.h * g.w, String(p.title)).toBeGreaterThan(0);
    }
  });

  it('gives every panel Prometheus targets on the datasource variable, with unique refIds', () => {
    expect(queryPanels.length).toBeGreaterThanOrEqual(8);
    for (const p of queryPanels) {
      expect(p.datasource, String(p.title)).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const targets = p.targets ?? [];
      expect(targets.length, String(p.title)).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size, String(p.title)).toBe(targets.length);
      for (const t of targets) expect(typeof t.expr, String(p.title)).toBe('string');
    }
  });

  it('uses only metrics and labels that the code registers, and only scraped jobs', () => {
    for (const { panel, expr } of dashboardExprs) {
      checkExpression(String(expr), panel);
      for (const job of jobsIn(String(expr))) expect(jobs.has(job), `${panel}: job ${job}`).toBe(true);
    }
  });

  it('shows queue depth by state, deliveries by outcome, latency p50/p99, failure rate, endpoint states, lane moves and per-endpoint outcomes', () => {
    const exprs = dashboardExprs.map((e) => String(e.expr));
    const has = (re: RegExp): boolean => exprs.some((e) => re.test(e));
    expect(has(/by \(state\) \(postback_queue_jobs\)/)).toBe(true);
    expect(has(/by \(outcome\) \(rate\(postback_deliveries_total/)).toBe(true);
    expect(has(/histogram_quantile\(0\.5, .*postback_attempt_duration_seconds_bucket/)).toBe(true);
    expect(has(/histogram_quantile\(0\.99, .*postback_attempt_duration_seconds_bucket/)).toBe(true);
    expect(has(/postback_deliveries_total\{outcome="failed"\}.* \/ /)).toBe(true);
    expect(has(/count by \(state\) .*postback_endpoint_state/)).toBe(true);
    expect(has(/postback_lane_moves_total/)).toBe(true);
    expect(has(/by \(endpoint_id, outcome\) .*postback_endpoint_attempts_total/)).toBe(true);
    // Every process reports the same scrape-time gauges: never summed across targets.
    for (const e of exprs) expect(e, e).not.toMatch(/sum[^(]*\((\s*[a-z_]+\()?\s*postback_(queue_jobs|endpoint_state)\b/);
  });
});
