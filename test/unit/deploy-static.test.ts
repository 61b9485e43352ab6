/**
 * compose.yml and the Dockerfile cannot run here (no container engine), so their invariants are checked
 * statically; the same topology runs for real in the integration tests through the local runner.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiSpec } from '../../api/config.ts';
import { brokerSpec } from '../../broker/config.ts';
import { workerSpec } from '../../worker/config.ts';

interface Service {
  command?: string[];
  container_name?: string;
  ports?: string[];
  environment?: Record<string, unknown>;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
  networks?: string[];
  stop_grace_period?: string;
}

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const compose = parse(read('compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean }>;
};
const dockerfile = read('deploy/Dockerfile');
const known = new Set(
  [apiSpec, brokerSpec, workerSpec].flatMap((s) => Object.values(s).map((v) => v.env)).concat('LOG_LEVEL'),
);

describe('compose.yml', () => {
  const { services } = compose;

  it('has the whole topology, each podstore process started with node from the image', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'broker', 'minio', 'nats', 'worker']);
    expect(services.broker?.command).toEqual(['node', 'dist/broker/main.js']);
    expect(services.worker?.command).toEqual(['node', 'dist/worker/main.js']);
    expect(services.api?.command).toEqual(['node', 'dist/api/main.js']);
  });

  it('lets workers scale: no container name, no host port', () => {
    expect(services.worker?.container_name).toBeUndefined();
    expect(services.worker?.ports).toBeUndefined();
  });

  it('publishes only the api to the host', () => {
    const published = Object.entries(services)
      .filter(([, s]) => s.ports !== undefined)
      .map(([name]) => name);
    expect(published).toEqual(['api']);
  });

  it('keeps the back tiers on internal networks the api cannot reach', () => {
    expect(compose.networks.back?.internal).toBe(true);
    expect(compose.networks.storage?.internal).toBe(true);
    expect(services.api?.networks).not.toContain('storage');
    expect(services.api?.networks).not.toContain('back');
    expect(services.worker?.networks?.sort()).toEqual(['back', 'storage']);
  });

  it('health-gates start order on services that have health checks', () => {
    expect(services.minio?.healthcheck).toBeDefined();
    expect(services.nats?.healthcheck).toBeDefined();
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    for (const s of Object.values(services)) {
      for (const dep of Object.values(s.depends_on ?? {})) expect(dep.condition).toBe('service_healthy');
    }
  });

  it('gives workers more stop grace than their drain time', () => {
    const grace = Number.parseInt(services.worker?.stop_grace_period ?? '0', 10);
    expect(grace * 1000).toBeGreaterThan(Number(workerSpec.graceMs.default));
  });

  it('sets only environment variables the processes read', () => {
    for (const name of ['broker', 'worker', 'api']) {
      for (const key of Object.keys(services[name]?.environment ?? {}))
        expect(known, `${name}: ${key}`).toContain(key);
    }
  });
});

describe('deploy/Dockerfile', () => {
  it('builds in a separate stage and runs as a non-root user behind an init, with node directly', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBe(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["node", /m);
  });
});
