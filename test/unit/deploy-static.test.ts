/**
 * compose.yml, the Dockerfile, nginx's configuration and the Kubernetes manifests cannot run here (no
 * container engine, no cluster), so the invariants that matter are checked statically against the code
 * they deploy; the same topology runs for real in test/integration/topology.test.ts (local runner).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { apiSpec } from '../../api/config.ts';
import { requestIdOf } from '../../api/request-id.ts';
import { brokerSpec } from '../../broker/config.ts';
import { freePort } from '../../deploy/local/free-port.ts';
import { loadConfig, type Spec } from '../../runtime/env.ts';
import { serveMetrics } from '../../runtime/metrics-server.ts';
import { workerSpec } from '../../worker/config.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

// ---- the code's side: settings, drain times ----

const specs: Record<string, Spec> = { api: apiSpec, broker: brokerSpec, worker: workerSpec };
/** Read by every process outside its spec (runtime/logger.ts), or set by the image itself. */
const PROCESS_ENV = ['LOG_LEVEL', 'LOG_PRETTY', 'NODE_ENV', 'NODE_OPTIONS'];
const readBy = (process: string) =>
  new Set([...Object.values(specs[process] ?? {}).map((s) => s.env), ...PROCESS_ENV]);
/** Each main.ts gives onShutdown its grace + 2000 ms to close; the broker's stop is bounded at 5 s. */
const CLOSE_MARGIN_MS = 2000;
const BROKER_STOP_MS = 5000;

function durationMs(text: string | undefined): number {
  let ms = 0;
  for (const [, n, unit] of (text ?? '').matchAll(/(\d+)(ms|s|m|h)/g))
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return ms;
}

// ---- compose.yml and .env.example ----

interface Service {
  image?: string;
  command?: string[];
  container_name?: string;
  ports?: string[];
  expose?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
  networks?: string[];
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
  deploy?: { replicas?: number };
}

const composeText = read('compose.yml');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
  volumes: Record<string, unknown>;
};
const { services } = compose;
const podstoreServices = ['api', 'broker', 'worker'];

const envExample = new Map(
  read('.env.example')
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] as string, m[2] as string]),
);

const VARIABLE = /\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g;

/** Compose's interpolation of `${VAR}`, `${VAR:-default}` and `${VAR:?error}` with `env`. */
function interpolate(value: string | number, env: Map<string, string>): string {
  return String(value).replace(VARIABLE, (_, name: string, op: string | undefined, arg: string) => {
    const set = env.get(name);
    if (op?.endsWith('?')) {
      if (!set) throw new Error(`${name} is required: ${arg}`);
      return set;
    }
    return set || (op === undefined ? '' : arg);
  });
}

/** A service's environment as the process sees it, from .env.example or from compose's defaults. */
function environmentOf(name: string, env: Map<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(v, env)]),
  );
}
/** Compose's defaults only, plus the settings compose insists on (no default on purpose). */
const requiredOnly = new Map([...envExample].filter(([name]) => composeText.includes(`\${${name}:?`)));

function sharedNetworks(a: string, b: string): string[] {
  const theirs = new Set(services[b]?.networks ?? []);
  return (services[a]?.networks ?? []).filter((n) => theirs.has(n));
}

describe('compose.yml', () => {
  it('has the whole topology, each podstore process started from the image with node', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'broker', 'minio', 'nats', 'proxy', 'worker']);
    for (const name of podstoreServices) {
      expect(services[name]?.command).toEqual(['node', `dist/${name}/main.js`]);
      expect(services[name]?.image).toBe(services.api?.image);
    }
  });

  it('lets workers and apis scale: no container name, no host port; two api replicas', () => {
    for (const name of ['worker', 'api']) {
      expect(services[name]?.container_name).toBeUndefined();
      expect(services[name]?.ports).toBeUndefined();
    }
    expect(services.api?.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('publishes only the proxy, on the port nginx listens on', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports !== undefined);
    expect(published.map(([name]) => name)).toEqual(['proxy']);
    const [mapping] = services.proxy?.ports ?? [];
    const containerPort = mapping?.split(':').at(-1);
    expect(nginx).toMatch(new RegExp(`^\\s*listen ${containerPort};`, 'm'));
  });

  it('isolates tiers: services share a network only with their neighbours', () => {
    const names = Object.keys(services).sort();
    const links = names.flatMap((a, i) =>
      names.slice(i + 1).flatMap((b) => (sharedNetworks(a, b).length > 0 ? [`${a}-${b}`] : [])),
    );
    expect(links).toEqual([
      'api-broker',
      'api-nats',
      'api-proxy',
      'broker-worker',
      'minio-worker',
      'nats-worker',
    ]);
    // Spelled out: the proxy reaches only the apis; the api never reaches the object store.
    for (const other of ['broker', 'worker', 'minio', 'nats'])
      expect(sharedNetworks('proxy', other)).toEqual([]);
    expect(sharedNetworks('api', 'minio')).toEqual([]);
  });

  it('keeps every network internal but the proxy edge and the workers egress (webhooks)', () => {
    const members = (network: string) =>
      Object.entries(services)
        .filter(([, s]) => s.networks?.includes(network))
        .map(([name]) => name);
    const open = Object.entries(compose.networks)
      .filter(([, n]) => n?.internal !== true)
      .map(([name]) => name);
    expect(open.sort()).toEqual(['edge', 'egress']);
    expect(members('edge')).toEqual(['proxy']);
    expect(members('egress')).toEqual(['worker']);
    for (const network of Object.keys(compose.networks)) expect(members(network).length).toBeGreaterThan(0);
  });

  it('health-checks every service, podstore processes on the port each serves /healthz on', () => {
    for (const [name, service] of Object.entries(services))
      expect(service.healthcheck?.test?.[0], name).toBe('CMD');
    const healthPort = { api: 'API_PORT', broker: 'BROKER_METRICS_PORT', worker: 'WORKER_METRICS_PORT' };
    for (const [name, portVariable] of Object.entries(healthPort)) {
      const port = String(services[name]?.environment?.[portVariable]);
      expect(services[name]?.healthcheck?.test).toEqual([
        'CMD',
        'wget',
        '-q',
        '-T',
        '2',
        '-O',
        '/dev/null',
        `http://127.0.0.1:${port}/healthz`,
      ]);
    }
    expect(services.proxy?.healthcheck?.test?.join(' ')).toContain('http://127.0.0.1:8080/proxy-healthz');
    expect(nginx).toMatch(/location = \/proxy-healthz \{[^}]*return 200/);
    expect(services.nats?.healthcheck?.test?.join(' ')).toContain(':8222/healthz');
  });

  it('starts in health-gated order', () => {
    const dependsOn = Object.fromEntries(
      Object.entries(services).map(([name, s]) => [name, Object.keys(s.depends_on ?? {}).sort()]),
    );
    expect(dependsOn).toEqual({
      minio: [],
      nats: [],
      broker: [],
      worker: ['broker', 'minio', 'nats'],
      api: ['broker', 'nats'],
      proxy: ['api'],
    });
    for (const s of Object.values(services)) {
      for (const dep of Object.values(s.depends_on ?? {})) expect(dep.condition).toBe('service_healthy');
    }
  });

  it('restarts every service unless stopped by hand', () => {
    for (const [name, s] of Object.entries(services)) expect(s.restart, name).toBe('unless-stopped');
  });

  it('gives each podstore process more stop grace than its drain time', () => {
    for (const env of [envExample, requiredOnly]) {
      const worker = Number(environmentOf('worker', env).WORKER_GRACE_MS);
      const api = Number(environmentOf('api', env).API_GRACE_MS);
      expect(durationMs(services.worker?.stop_grace_period)).toBeGreaterThan(worker + CLOSE_MARGIN_MS);
      expect(durationMs(services.api?.stop_grace_period)).toBeGreaterThan(api + CLOSE_MARGIN_MS);
    }
    expect(Number(workerSpec.graceMs.default)).toBe(20_000);
    expect(durationMs(services.broker?.stop_grace_period)).toBeGreaterThan(BROKER_STOP_MS);
  });

  it('sets only variables the processes read, and values they accept', () => {
    for (const name of podstoreServices) {
      const spec = specs[name] as Spec;
      for (const key of Object.keys(services[name]?.environment ?? {}))
        expect(readBy(name), `${name}: ${key}`).toContain(key);
      for (const env of [envExample, requiredOnly])
        expect(() => loadConfig(spec, environmentOf(name, env)), name).not.toThrow();
    }
    expect(Object.keys(services.minio?.environment ?? {}).sort()).toEqual([
      'MINIO_API_STALE_UPLOADS_CLEANUP_INTERVAL',
      'MINIO_API_STALE_UPLOADS_EXPIRY',
      'MINIO_ROOT_PASSWORD',
      'MINIO_ROOT_USER',
    ]);
  });

  it('takes every setting from .env.example, which lists nothing compose does not use', () => {
    const used = new Set([...composeText.matchAll(VARIABLE)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...envExample.keys()].sort());
    // No default secret: compose refuses to start without one.
    expect(composeText).toMatch(/MINIO_SECRET_KEY: \$\{MINIO_SECRET_KEY:\?/);
    expect(environmentOf('worker', envExample).MINIO_SECRET_KEY).toBe(
      environmentOf('minio', envExample).MINIO_ROOT_PASSWORD,
    );
  });

  it('counts clients behind the proxy by the address the proxy names, not by the proxy', () => {
    for (const env of [envExample, requiredOnly]) {
      const api = loadConfig(apiSpec, environmentOf('api', env));
      // Docker's default address pools: wherever compose puts the proxy, the api trusts it...
      for (const proxy of ['172.17.0.2', '172.18.0.5', '192.168.16.3', '::ffff:172.20.0.4'])
        expect(api.trustedProxies.trusts(proxy), proxy).toBe(true);
      // ...and so the per-address limit of unauthenticated requests stays on.
      expect(api.limitRequestsPerAddress).toBeGreaterThan(0);
      // Connections all come from the proxy, which caps them per client (limit_conn).
      expect(api.maxConnectionsPerIp).toBe(0);
    }
    expect(directive('limit_conn')).toEqual([expect.stringMatching(/^podstore_clients \d+$/)]);
  });

  it('points apis and workers at the broker, MinIO and NATS by service name and port', () => {
    const broker = environmentOf('broker', envExample);
    const api = environmentOf('api', envExample);
    const worker = environmentOf('worker', envExample);
    expect(api.BROKER_FRONTEND_URL).toBe(broker.BROKER_FRONTEND?.replace('0.0.0.0', 'broker'));
    expect(worker.BROKER_BACKEND_URL).toBe(broker.BROKER_BACKEND?.replace('0.0.0.0', 'broker'));
    expect(api.NATS_URL).toBe('nats://nats:4222');
    expect(worker.NATS_URL).toBe('nats://nats:4222');
    expect(worker.MINIO_ENDPOINT).toBe('http://minio:9000');
  });

  it('keeps MinIO and NATS (JetStream, monitoring on 8222) data in named volumes', () => {
    expect(services.minio?.volumes).toEqual(['minio-data:/data']);
    expect(services.nats?.volumes).toEqual(['nats-data:/data']);
    expect(Object.keys(compose.volumes).sort()).toEqual(['minio-data', 'nats-data']);
    expect(services.nats?.command).toEqual(expect.arrayContaining(['-js', '-m', '8222']));
  });
});

// ---- deploy/Dockerfile and .dockerignore ----

const dockerfile = read('deploy/Dockerfile');
const stages = dockerfile.split(/^(?=FROM )/m).filter((s) => s.startsWith('FROM '));
const runtime = stages.at(-1) ?? '';
const stageNamed = (name: string) => stages.find((s) => s.split('\n')[0]?.endsWith(` AS ${name}`)) ?? '';

describe('deploy/Dockerfile', () => {
  it('compiles in a build stage and ships dist/ with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stageNamed('build')).toMatch(/^RUN npx tsc -p tsconfig\.build\.json$/m);
    expect(stageNamed('prod-deps')).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^COPY --from=prod-deps \/app\/node_modules node_modules$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist dist$/m);
    // No TypeScript sources and no dev tooling in the final image.
    expect(runtime).not.toMatch(/^COPY (api|broker|worker|protocol|client) /m);
    expect(runtime).not.toMatch(/npm (ci|install)(?! --omit=dev)/);
  });

  it('runs as the non-root node user behind tini, node started directly, with a health check', () => {
    const lines = runtime.split('\n');
    const user = lines.indexOf('USER node');
    expect(user).toBeGreaterThan(0);
    expect(lines.slice(user).some((l) => /^(RUN|COPY) /.test(l))).toBe(false);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/api\/main\.js"\]$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*CMD \["node", "healthcheck\.mjs"\]$/m);
    expect(runtime).toMatch(/^COPY deploy\/healthcheck\.mjs \.\/$/m);
  });

  it('sends nothing to the build but what it copies (.dockerignore is an allow list)', () => {
    const lines = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    const allowed = new Set(lines.slice(1).map((l) => l.replace(/^!/, '')));
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] ?? '').split(' ').filter((s) => !s.startsWith('--')),
    );
    expect(copied.length).toBeGreaterThan(5);
    for (const source of copied) expect(allowed, source).toContain(source);
  });

  it('needs no dev dependency at run time: every package the code imports is a production one', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    for (const dir of ['api', 'broker', 'worker', 'protocol', 'client']) {
      for (const file of readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts')) continue;
        const source = read(`${dir}/${file}`);
        for (const m of source.matchAll(/^import (?!type )[^;]*? from '([^'.][^']*)'/gm)) {
          const spec = m[1] ?? '';
          if (spec.startsWith('node:')) continue;
          imported.add(
            spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? ''),
          );
        }
      }
    }
    expect(imported.size).toBeGreaterThan(3);
    for (const name of imported) expect(Object.keys(pkg.dependencies), name).toContain(name);
  });
});

describe('deploy/healthcheck.mjs (the containers health check)', () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, ['deploy/healthcheck.mjs', ...args], {
      cwd: root,
      env: { ...process.env, API_PORT: '1', BROKER_METRICS_PORT: '2', WORKER_METRICS_PORT: '3', ...env },
      stdio: 'ignore',
    });
    const [code] = await once(child, 'exit');
    return code as number;
  };

  it('passes while /healthz answers 200 and fails once nothing answers', async () => {
    const port = await freePort();
    const server = await serveMetrics(new Registry(), port, '127.0.0.1');
    try {
      expect(await run([String(port)])).toBe(0);
      // Without an argument, any of the process ports from the environment counts.
      expect(await run([], { WORKER_METRICS_PORT: String(port) })).toBe(0);
    } finally {
      server?.close();
    }
    expect(await run([String(port)])).toBe(1);
    expect(await run([])).toBe(1);
  });
});

// ---- deploy/nginx/nginx.conf ----

const nginx = read('deploy/nginx/nginx.conf').replace(/#.*$/gm, '');
const directive = (name: string) =>
  [...nginx.matchAll(new RegExp(`^\\s*${name}\\s+([^;]+);`, 'gm'))].map((m) => m[1]?.trim());

describe('deploy/nginx/nginx.conf (the reverse proxy)', () => {
  it('hides its version and the X-Powered-By header', () => {
    expect(directive('server_tokens')).toEqual(['off']);
    expect(directive('proxy_hide_header')).toContain('X-Powered-By');
  });

  it('streams bodies both ways without buffering or a size cap', () => {
    expect(directive('proxy_request_buffering')).toEqual(['off']);
    expect(directive('proxy_buffering')).toEqual(['off']);
    expect(directive('client_max_body_size')).toEqual(['0']);
    expect(directive('proxy_http_version')).toEqual(['1.1']);
  });

  it('routes every path round-robin to the api replicas, but /metrics', () => {
    const apiPort = services.api?.environment?.API_PORT;
    expect(nginx).toMatch(new RegExp(`upstream api \\{[^}]*server api:${apiPort} resolve;`));
    expect(nginx).toMatch(/location \/ \{\s*proxy_pass http:\/\/api;\s*\}/);
    expect(nginx).toMatch(/location = \/metrics \{[^}]*return 404/);
  });

  it('names the client in X-Forwarded-For, appended to what came in (the api takes the right-most untrusted)', () => {
    expect(directive('proxy_set_header')).toContain('X-Forwarded-For $proxy_add_x_forwarded_for');
  });

  it('passes a sane caller X-Request-Id on, by the same rule as the api, else a fresh one', () => {
    expect(directive('proxy_set_header')).toContain('X-Request-Id $podstore_request_id');
    expect(directive('add_header')).toContain('X-Request-Id $podstore_request_id always');
    const map = /map \$http_x_request_id \$podstore_request_id \{\s*"~([^"]+)" \$http_x_request_id;/.exec(
      nginx,
    );
    const sane = new RegExp(map?.[1] ?? 'no map');
    const samples = ['abc', 'a.b:c-d_e', 'x'.repeat(128), 'x'.repeat(129), 'has space', '', 'ü', 'a/b'];
    for (const id of samples) {
      const apiKeeps = requestIdOf({ headers: { 'x-request-id': id } } as unknown as IncomingMessage) === id;
      expect(sane.test(id), JSON.stringify(id)).toBe(apiKeeps);
    }
  });
});

// ---- deploy/k8s ----

interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string }; timeoutSeconds?: number };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    strategy?: { type: string };
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    podSelector?: { matchLabels?: Record<string, string> };
    template?: {
      metadata: { labels: Record<string, string> };
      spec: {
        enableServiceLinks?: boolean;
        terminationGracePeriodSeconds?: number;
        securityContext?: { runAsNonRoot?: boolean };
        containers: Container[];
      };
    };
    ports?: { name: string; port: number; targetPort: string }[];
    scaleTargetRef?: { apiVersion: string; kind: string; name: string };
    minReplicas?: number;
    metrics?: { resource?: { name: string } }[];
  };
}

const k8sFiles = readdirSync(new URL('deploy/k8s/', root)).filter((f) => f.endsWith('.yaml'));
const manifests = k8sFiles
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((f) => parseAllDocuments(read(`deploy/k8s/${f}`)).map((d) => d.toJS() as Manifest));
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const deployments = ofKind('Deployment');
const deployment = (name: string) => deployments.find((d) => d.metadata.name === name);
const podLabels = (d: Manifest) => d.spec?.template?.metadata.labels ?? {};
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const configMap = ofKind('ConfigMap')[0]?.data ?? {};
const secret = ofKind('Secret')[0]?.stringData ?? {};

describe('deploy/k8s', () => {
  it('lists every manifest in kustomization.yaml', () => {
    const kustomization = parse(read('deploy/k8s/kustomization.yaml')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(
      k8sFiles.filter((f) => f !== 'kustomization.yaml').sort(),
    );
  });

  it('runs api, broker and worker Deployments from the image, through its tini entrypoint', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['api', 'broker', 'worker']);
    for (const d of deployments) {
      const [container] = d.spec?.template?.spec.containers ?? [];
      expect(container?.command, d.metadata.name).toBeUndefined();
      expect(container?.args).toEqual(['node', `dist/${d.metadata.name}/main.js`]);
      expect(selects(d.spec?.selector?.matchLabels ?? {}, podLabels(d))).toBe(true);
      expect(d.spec?.template?.spec.enableServiceLinks).toBe(false);
      expect(d.spec?.template?.spec.securityContext?.runAsNonRoot).toBe(true);
    }
  });

  it('gives every container liveness and readiness probes on ports it declares', () => {
    const expected = {
      api: ['/healthz', '/readyz', 'API_PORT'],
      broker: ['/healthz', '/healthz', 'BROKER_METRICS_PORT'],
      worker: ['/healthz', '/healthz', 'WORKER_METRICS_PORT'],
    };
    for (const [name, [live, ready, portVariable]] of Object.entries(expected)) {
      const container = deployment(name)?.spec?.template?.spec.containers[0];
      expect(container?.livenessProbe?.httpGet?.path, name).toBe(live);
      expect(container?.readinessProbe?.httpGet?.path, name).toBe(ready);
      const port = container?.ports?.find((p) => p.name === container.livenessProbe?.httpGet?.port);
      expect(container?.readinessProbe?.httpGet?.port).toBe(port?.name);
      const setting = container?.env?.find((e) => e.name === portVariable)?.value;
      expect(String(port?.containerPort), name).toBe(setting);
    }
  });

  it('waits for the api’s /readyz longer than the api waits for the broker and a worker', () => {
    // Else a probe times out (default 1 s) before /readyz answers its 503 and says why.
    const probe = deployment('api')?.spec?.template?.spec.containers[0]?.readinessProbe;
    const waitMs = Number(configMap.READINESS_TIMEOUT_MS ?? 1000);
    expect((probe?.timeoutSeconds ?? 1) * 1000).toBeGreaterThan(waitMs);
  });

  it('gives every container CPU and memory requests and limits', () => {
    for (const d of deployments) {
      for (const c of d.spec?.template?.spec.containers ?? []) {
        for (const kind of ['requests', 'limits'] as const) {
          expect(c.resources?.[kind]?.cpu, `${d.metadata.name} ${kind}`).toBeDefined();
          expect(c.resources?.[kind]?.memory, `${d.metadata.name} ${kind}`).toBeDefined();
        }
      }
    }
  });

  it('lets pods drain: termination grace above each drain time', () => {
    const graceS = (name: string) =>
      deployment(name)?.spec?.template?.spec.terminationGracePeriodSeconds ?? 0;
    const api = deployment('api')?.spec?.template?.spec.containers[0];
    const preStopS = Number(api?.lifecycle?.preStop?.exec?.command.at(-1) ?? 0);
    expect(graceS('api') * 1000).toBeGreaterThan(
      preStopS * 1000 + Number(configMap.API_GRACE_MS) + CLOSE_MARGIN_MS,
    );
    expect(graceS('worker') * 1000).toBeGreaterThan(Number(configMap.WORKER_GRACE_MS) + CLOSE_MARGIN_MS);
    expect(graceS('broker') * 1000).toBeGreaterThan(BROKER_STOP_MS);
  });

  it('runs one broker, never two at once; workers scaled by a CPU autoscaler', () => {
    expect(deployment('broker')?.spec?.replicas).toBe(1);
    expect(deployment('broker')?.spec?.strategy?.type).toBe('Recreate');
    const [hpa] = ofKind('HorizontalPodAutoscaler');
    expect(hpa?.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker' });
    expect(hpa?.spec?.metrics?.map((m) => m.resource?.name)).toEqual(['cpu']);
    expect(hpa?.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    // The autoscaler owns the count; a `replicas` here would reset it on every apply.
    expect(deployment('worker')?.spec?.replicas).toBeUndefined();
    expect(deployment('api')?.spec?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('has Services, budgets and policies that select existing pods, and Services that target declared ports', () => {
    for (const m of manifests) {
      const selector =
        m.kind === 'Service'
          ? (m.spec?.selector as Record<string, string>)
          : m.kind === 'PodDisruptionBudget'
            ? m.spec?.selector?.matchLabels
            : m.kind === 'NetworkPolicy'
              ? m.spec?.podSelector?.matchLabels
              : undefined;
      if (selector === undefined) continue;
      const target = deployments.filter((d) => selects(selector, podLabels(d)));
      expect(target, `${m.kind} ${m.metadata.name}`).toHaveLength(1);
      if (m.kind !== 'Service') continue;
      const declared = target[0]?.spec?.template?.spec.containers.flatMap((c) => c.ports ?? []) ?? [];
      for (const port of m.spec?.ports ?? [])
        expect(
          declared.map((p) => p.name),
          `${m.metadata.name}: ${port.name}`,
        ).toContain(port.targetPort);
    }
    expect(ofKind('Service').map((s) => s.metadata.name)).toEqual(expect.arrayContaining(['api', 'broker']));
  });

  it('sets only variables the processes read; addresses match the Services', () => {
    const readByAny = new Set(podstoreServices.flatMap((p) => [...readBy(p)]));
    for (const key of [...Object.keys(configMap), ...Object.keys(secret)])
      expect(readByAny, key).toContain(key);
    for (const d of deployments) {
      const container = d.spec?.template?.spec.containers[0];
      for (const e of container?.env ?? []) expect(readBy(d.metadata.name), e.name).toContain(e.name);
      const env = {
        ...configMap,
        ...Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value])),
      };
      const fromSecret = container?.envFrom?.some((f) => f.secretRef !== undefined) ? secret : {};
      const spec = specs[d.metadata.name] as Spec;
      expect(() => loadConfig(spec, { ...env, ...fromSecret }), d.metadata.name).not.toThrow();
    }
    const brokerPorts = ofKind('Service')
      .find((s) => s.metadata.name === 'broker')
      ?.spec?.ports?.map((p) => `tcp://broker:${p.port}`);
    expect(brokerPorts).toContain(configMap.BROKER_FRONTEND_URL);
    expect(brokerPorts).toContain(configMap.BROKER_BACKEND_URL);
    expect(configMap.NATS_URL).toBe('nats://nats:4222');
  });

  it('counts clients behind the ingress by the address it names: the per-address limit stays on', () => {
    const api = loadConfig(apiSpec, { ...configMap });
    for (const podAddress of ['10.244.1.17', '10.42.0.9', '172.20.3.4'])
      expect(api.trustedProxies.trusts(podAddress), podAddress).toBe(true);
    expect(api.limitRequestsPerAddress).toBeGreaterThan(0);
    expect(api.maxConnectionsPerIp).toBe(0);
  });
});
