import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, VARIABLES } from '../../src/config/schema.js';
import { compileEndpoint } from '../../src/endpoints/compile-endpoint.js';
import { readEndpointsFile } from '../../src/endpoints/load-file.js';
import { PRESETS } from '../../src/endpoints/presets/index.js';
import { validateEvent } from '../../src/events/validate-event.js';

/**
 * The docker compose stack, checked without a Docker engine: docker-compose.yml parsed
 * with `yaml`, the Dockerfile line by line, the endpoints file compiled by the code.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test: string | string[] };
  deploy?: { replicas?: number };
  expose?: (string | number)[];
  restart?: string;
}

// merge: YAML merge keys (`<<: *dispatcher-env`), as Docker Compose reads them.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${JSON.stringify(name)}`);
  return s;
};
const commandText = (s: Service): string => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));
const healthText = (s: Service): string => {
  const t = s.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
};
/** A service's environment as name -> string, from the map or the list form. */
function environment(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf('=') === -1 ? kv.length : kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}
/** The volume a service mounts at `target`, as { source, target }. */
const volumeAt = (s: Service, target: string): { source?: string; target: string } | undefined =>
  (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1]! } : v)).find((v) => v.target === target);
const dependsOn = (s: Service, name: string): string | undefined => {
  const d = s.depends_on;
  if (d === undefined) return undefined;
  return Array.isArray(d) ? (d.includes(name) ? 'service_started' : undefined) : d[name]?.condition;
};

/** The sink service's address as the other containers see it. */
function sinkAddress(): { host: string; port: string } {
  const args = Array.isArray(service('sink').command) ? (service('sink').command as string[]) : commandText(service('sink')).split(/\s+/);
  const port = args[args.indexOf('--port') + 1];
  return { host: 'sink', port: port ?? '' };
}

describe('docker-compose.yml', () => {
  it('has the services redis, postgres, api, worker and sink', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'postgres', 'api', 'worker', 'sink']));
  });

  it('runs Redis 7 with AOF fsynced every second, noeviction, a named volume for /data and a ping healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toBe('redis:7-alpine');
    const cmd = commandText(redis);
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--appendfsync everysec');
    expect(cmd).toContain('--maxmemory-policy noeviction');
    const data = volumeAt(redis, '/data');
    expect(data, 'a volume mounted at /data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {}), 'the /data volume is a named one').toContain(data!.source);
    expect(healthText(redis)).toMatch(/redis-cli.*ping/);
  });

  it('runs PostgreSQL 15 with a named volume for its data, a pg_isready healthcheck and a restart policy', () => {
    const postgres = service('postgres');
    expect(postgres.image).toBe('postgres:15-alpine');
    const data = volumeAt(postgres, '/var/lib/postgresql/data');
    expect(data, 'a volume mounted at /var/lib/postgresql/data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {}), 'the data volume is a named one').toContain(data!.source);
    expect(healthText(postgres)).toMatch(/pg_isready/);
    expect(postgres.restart).toBe('unless-stopped');
    const env = environment(postgres);
    expect(env.POSTGRES_PASSWORD, 'POSTGRES_PASSWORD').toBeTruthy();
    expect(env.POSTGRES_DB, 'POSTGRES_DB').toBeTruthy();
  });

  it('points HISTORY_URL of the API and the workers at the postgres service, its database and password', () => {
    const { POSTGRES_PASSWORD, POSTGRES_DB } = environment(service('postgres'));
    for (const name of ['api', 'worker']) {
      const raw = environment(service(name)).HISTORY_URL;
      expect(raw, `${name}: HISTORY_URL`).toBeDefined();
      const url = new URL(raw!);
      expect(url.protocol, name).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname, name).toBe('postgres');
      expect(url.port || '5432', name).toBe('5432');
      expect(url.username, name).toBe('postgres');
      expect(decodeURIComponent(url.password), name).toBe(POSTGRES_PASSWORD);
      expect(url.pathname, name).toBe(`/${POSTGRES_DB}`);
    }
  });

  it('starts the API, the workers and the sink from the Dockerfile, each with its command', () => {
    for (const name of ['api', 'worker', 'sink']) {
      expect(service(name).build, name).toBeDefined();
      expect(service(name).image, name).toBe(service('api').image);
    }
    expect(commandText(service('api'))).toBe('node dist/src/cli/main.js api');
    expect(commandText(service('worker'))).toBe('node dist/workers/postback-worker.js');
    expect(commandText(service('sink'))).toMatch(/^node dist\/src\/cli\/main\.js sink --port 9000 --host 0\.0\.0\.0( |$)/);
  });

  it('publishes the API on 8080 and checks it on /healthz; the sink has a healthcheck too', () => {
    const ports = (service('api').ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
    expect(ports.some((p) => /(^|:)8080:8080$/.test(p)), ports.join(', ')).toBe(true);
    expect(healthText(service('api'))).toContain('/healthz');
    expect(healthText(service('sink'))).toContain(sinkAddress().port);
  });

  it('makes the API and the workers wait for a healthy Redis and PostgreSQL, and the workers for a healthy sink', () => {
    for (const name of ['api', 'worker']) {
      expect(dependsOn(service(name), 'redis'), name).toBe('service_healthy');
      expect(dependsOn(service(name), 'postgres'), name).toBe('service_healthy');
    }
    expect(dependsOn(service('worker'), 'sink')).toBe('service_healthy');
  });

  it('runs two worker replicas', () => {
    expect(service('worker').deploy?.replicas).toBe(2);
  });

  it('uses only environment variables the config module knows, with values it accepts', () => {
    const known = new Set(VARIABLES.map((v) => v.env));
    // Every service running the image; the postgres image reads its own (POSTGRES_*).
    for (const [name, s] of Object.entries(services).filter(([, s]) => s.build !== undefined)) {
      for (const key of Object.keys(environment(s))) expect(known.has(key), `${name}: ${key} is not in src/config/schema.ts`).toBe(true);
    }
    for (const name of ['api', 'worker']) {
      const env = environment(service(name));
      const config = loadConfig(env);
      expect(config.redisUrl).toBe('redis://redis:6379');
      expect(config.apiKeys).toEqual(['local-dev-key']);
      expect(config.allowPrivateTargets).toBe(true);
      expect(config.host).toBe('0.0.0.0');
      for (const key of ['QUEUE_PREFIX', 'LOG_LEVEL', 'RETRY_SCHEDULE', 'POSTBACK_ENDPOINTS']) expect(env, `${name}: ${key}`).toHaveProperty(key);
      // The file is baked into the image from config/ (WORKDIR /app).
      expect(config.endpointsFile).toBe('/app/config/endpoints.compose.json');
      expect(existsSync(join(ROOT, config.endpointsFile!.replace(/^\/app\//, '')))).toBe(true);
    }
    // The workers add only their metrics server (METRICS_PORT, on every interface).
    const { METRICS_PORT: _port, HOST: _host, ...workerShared } = environment(service('worker'));
    expect(environment(service('api'))).toEqual(workerShared);
  });

  it('gives every METRICS_PORT a valid port, and the workers one they expose and check on /healthz', () => {
    for (const [name, s] of Object.entries(services)) {
      const raw = environment(s).METRICS_PORT;
      if (raw === undefined) continue;
      expect(raw, `${name}: METRICS_PORT`).toMatch(/^[1-9]\d*$/);
      expect(Number(raw), `${name}: METRICS_PORT`).toBeLessThanOrEqual(65535);
      expect(loadConfig(environment(s)).metricsPort, name).toBe(Number(raw));
    }
    const worker = service('worker');
    const config = loadConfig(environment(worker));
    expect(config.metricsPort, 'the worker sets METRICS_PORT').toBeDefined();
    // Reachable by a Prometheus on the compose network, not only on the container's loopback.
    expect(config.host).toBe('0.0.0.0');
    expect((worker.expose ?? []).map(String)).toContain(String(config.metricsPort));
    expect(healthText(worker)).toContain(`http://127.0.0.1:${config.metricsPort}/healthz`);
    // The API serves its own /metrics: METRICS_PORT would be ignored there.
    expect(environment(service('api'))).not.toHaveProperty('METRICS_PORT');
  });

  it('turns ALLOW_PRIVATE_TARGETS on in this file only: not in the image, not in the endpoint files', () => {
    expect(read('docker-compose.yml')).toMatch(/ALLOW_PRIVATE_TARGETS: "true"/);
    for (const path of ['Dockerfile', '.dockerignore', 'config/endpoints.example.json', 'config/endpoints.compose.json']) {
      expect(read(path), path).not.toContain('ALLOW_PRIVATE_TARGETS');
    }
  });
});

describe('config/endpoints.compose.json', () => {
  const defaults = { requestTimeoutMs: 10000, retryScheduleS: [0, 60, 90, 120, 150] };
  const definitions = (JSON.parse(read('config/endpoints.compose.json')) as { endpoints: Record<string, unknown>[] }).endpoints;

  it('loads as the stack loads it at start, with one example per preset', async () => {
    await expect(readEndpointsFile(join(ROOT, 'config/endpoints.compose.json'), defaults)).resolves.toHaveLength(definitions.length);
    expect(new Set(definitions.map((d) => d.preset))).toEqual(new Set(PRESETS.keys()));
  });

  it('points every endpoint at the sink service, as rendered for a sample event', () => {
    const { host, port } = sinkAddress();
    expect(port).toBe('9000');
    for (const definition of definitions) {
      const endpoint = compileEndpoint(definition, defaults);
      const sample = endpoint.preset?.sampleEvent ?? { type: 'conversion', payout: 1 };
      const request = endpoint.render(validateEvent({ id: 'compose-sample', ...sample, endpoint_id: endpoint.id }), 'pb-sample');
      const url = new URL(request.url);
      expect(url.protocol, endpoint.id).toBe('http:');
      expect(url.hostname, endpoint.id).toBe(host);
      expect(url.port, endpoint.id).toBe(port);
    }
  });
});

describe('Dockerfile', () => {
  /** Instructions with continuation lines joined and comments dropped. */
  const instructions = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
  const stages: { from: string; body: typeof instructions }[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') stages.push({ from: i.args, body: [] });
    else stages.at(-1)?.body.push(i);
  }
  const final = stages.at(-1)!;

  it('builds in one stage and runs in another, both from node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toMatch(/^node:20-bookworm-slim\b/);
    const build = stages[0]!.body.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(build.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(build.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  it('copies tools/ (the msgpackr-extract override) before every npm ci', () => {
    const overrides = (JSON.parse(read('package.json')) as { overrides?: Record<string, string> }).overrides ?? {};
    expect(Object.values(overrides).some((v) => v.includes('./tools/'))).toBe(true);
    for (const [n, s] of stages.entries()) {
      const ci = s.body.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      if (ci === -1) continue;
      const tools = s.body.findIndex((i) => i.op === 'COPY' && /(^|\s)tools\/?\s/.test(i.args));
      expect(tools, `stage ${n}: COPY tools/ before npm ci`).toBeGreaterThanOrEqual(0);
      expect(tools, `stage ${n}: COPY tools/ before npm ci`).toBeLessThan(ci);
    }
  });

  it('installs production dependencies only in the final stage and copies dist/, public/ and config/', () => {
    const runs = final.body.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    const copies = final.body.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies.some((c) => /--from=\S+ \S*\/dist\/? /.test(c))).toBe(true);
    expect(copies.some((c) => /^public\/? /.test(c))).toBe(true);
    expect(copies.some((c) => /^config\/? /.test(c))).toBe(true);
    expect(existsSync(join(ROOT, 'public', 'explorer.html'))).toBe(true);
  });

  it('runs as a non-root user, with CMD node dist/...', () => {
    const user = final.body.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const cmd = final.body.filter((i) => i.op === 'CMD').at(-1)?.args ?? '';
    const argv = JSON.parse(cmd) as string[];
    expect(argv[0]).toBe('node');
    expect(argv[1]).toMatch(/^dist\//);
    expect(argv).toEqual(['node', 'dist/src/cli/main.js', 'start']);
  });

  it('leaves node_modules, dist and local endpoint files out of the build context', () => {
    const ignored = read('.dockerignore').split(/\r?\n/).map((l) => l.trim().replace(/\/$/, ''));
    for (const path of ['node_modules', 'dist', 'config/endpoints.json']) expect(ignored, path).toContain(path);
    for (const path of ['src', 'workers', 'tools', 'public', 'config', 'package.json', 'package-lock.json']) expect(ignored, path).not.toContain(path);
  });

  it('needs nothing from devDependencies at runtime: every package dist/ imports is a dependency', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies?: Record<string, string> };
    const dependencies = new Set(Object.keys(pkg.dependencies ?? {}));
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    const scan = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) scan(path);
        else if (entry.name.endsWith('.js')) {
          const text = readFileSync(path, 'utf8');
          for (const m of text.matchAll(/^\s*(?:(?:import|export)\b[^;'"]*?\bfrom\s*|import\s*)['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
            const spec = (m[1] ?? m[2])!;
            if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
            if (!dependencies.has(name)) missing.add(`${name} (${path.slice(ROOT.length + 1)})`);
          }
        }
      }
    };
    for (const dir of ['dist/src', 'dist/workers']) {
      expect(existsSync(join(ROOT, dir)), `${dir} missing: run npm run build`).toBe(true);
      scan(join(ROOT, dir));
    }
    // The image installs with `npm ci --omit=dev`: such an import crashes the container at start.
    expect([...missing], 'imported at runtime but not in package.json dependencies').toEqual([]);
  });
});
