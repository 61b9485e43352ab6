/**
 * compose.yml's topology, run for real by the local runner: the round-robin proxy (nginx's stand-in) in
 * front of 2 api processes, the broker, 4 workers, real MinIO and real NATS. Requests go through the
 * proxy only; each api's own /metrics (on its own port) and each worker's (WORKER_METRICS_PORT + i)
 * prove that every replica took its share.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/free-port.ts';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import { LocalStack } from '../../deploy/local/stack.ts';
import { ActingFetch } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { freePortRange, logRecords } from '../helpers/test-stack.ts';

const fetch = new ActingFetch().fetch;

const APIS = 2;
const WORKERS = 4;
const USERS = 24;
const USERS_ROUTE = 'route="/v1/users/:username"';

/** Sums a Prometheus counter's samples whose labels contain `labels`. */
async function counter(baseUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const sample = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (sample?.[1] === name && sample[2]?.includes(labels)) sum += Number(sample[3]);
  }
  return sum;
}

const apiRequests = (url: string) => counter(url, 'podstore_api_requests_total', USERS_ROUTE);
const workerCommands = (url: string) => counter(url, 'podstore_worker_commands_total', 'command="users.');

describe('topology: proxy → 2 apis → broker → 4 workers → MinIO, events on NATS', () => {
  let minio: MinioServer | undefined;
  let nats: NatsServer | undefined;
  let stack: LocalStack;
  let workerUrls: string[];

  beforeAll(async () => {
    [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
    const workerMetricsBasePort = await freePortRange(WORKERS);
    stack = new LocalStack({
      workers: WORKERS,
      apis: APIS,
      host: '127.0.0.1',
      // The proxy on this port, api i on this port + 1 + i.
      apiPort: await freePortRange(APIS + 1),
      frontendPort: await freePort(),
      backendPort: await freePort(),
      brokerMetricsPort: await freePort(),
      workerMetricsBasePort,
      env: {
        ...minioEnv(minio, 'topology'),
        NATS_URL: nats.url,
        HEARTBEAT_INTERVAL_MS: '200',
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
      },
      stdio: 'pipe',
    });
    workerUrls = Array.from({ length: WORKERS }, (_, i) => `http://127.0.0.1:${workerMetricsBasePort + i}`);
    try {
      await stack.start(60_000);
    } catch (err) {
      await stack.stop('SIGKILL');
      throw err;
    }
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([minio?.stop(), nats?.stop()]);
  }, 60_000);

  it('runs a proxy in front of two api processes, each on a port of its own', () => {
    expect(stack.proxy?.child.exitCode).toBeNull();
    expect(stack.apis.map((p) => p.name)).toEqual(['api-1', 'api-2']);
    expect(stack.api).toBe(stack.apis[0]);
    expect(new Set([stack.apiUrl, ...stack.apiUrls]).size).toBe(APIS + 1);
  });

  it('spreads users PUT and GET through the proxy over both apis and all four workers', async () => {
    const apisBefore = await Promise.all(stack.apiUrls.map(apiRequests));
    const workersBefore = await Promise.all(workerUrls.map(workerCommands));

    for (let i = 0; i < USERS; i++) {
      const username = `topology-${i}`;
      const put = await fetch(`${stack.apiUrl}/v1/users/${username}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: i }),
      });
      expect(put.status).toBe(201);
      const get = await fetch(`${stack.apiUrl}/v1/users/${username}`);
      expect(get.status).toBe(200);
      expect(await get.json()).toEqual({ n: i });
    }

    const apisServed = (await Promise.all(stack.apiUrls.map(apiRequests))).map(
      (n, i) => n - (apisBefore[i] ?? 0),
    );
    const workersRan = (await Promise.all(workerUrls.map(workerCommands))).map(
      (n, i) => n - (workersBefore[i] ?? 0),
    );
    // Round-robin: each api answered exactly half of the requests.
    expect(apisServed).toEqual([USERS, USERS]);
    // The broker spread the commands: every worker ran some, and each command ran exactly once.
    for (const ran of workersRan) expect(ran).toBeGreaterThan(0);
    expect(workersRan.reduce((a, b) => a + b, 0)).toBe(2 * USERS);
  });

  it('carries X-Request-Id through the proxy to the api that served the request', async () => {
    const id = `topology-${randomUUID()}`;
    const res = await fetch(`${stack.apiUrl}/v1/users/topology-0`, { headers: { 'x-request-id': id } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('server')).toBeNull();
    // The api logs its request line once the response is sent.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const loggedBy = stack.apis.filter((api) => logRecords(api.lines).some((r) => r.requestId === id));
    expect(loggedBy).toHaveLength(1);
  });

  it('keeps /metrics behind the proxy while each api serves its own', async () => {
    expect((await fetch(`${stack.apiUrl}/metrics`)).status).toBe(404);
    for (const url of stack.apiUrls) expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it('keeps serving through the proxy when one api replica stops', async () => {
    const [first, second] = stack.apiUrls as [string, string];
    const before = await apiRequests(second);
    const api = stack.apis[0];
    if (api === undefined) throw new Error('no first api');
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    await expect(fetch(`${first}/healthz`)).rejects.toThrow();

    for (let i = 0; i < 6; i++) {
      const put = await fetch(`${stack.apiUrl}/v1/users/topology-${i}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: i, again: true }),
      });
      expect(put.status).toBe(200);
      const get = await fetch(`${stack.apiUrl}/v1/users/topology-${i}`);
      expect(await get.json()).toEqual({ n: i, again: true });
    }
    expect((await apiRequests(second)) - before).toBe(12);
  });
});
