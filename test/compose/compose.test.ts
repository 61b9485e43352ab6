/**
 * The deployment, for real: the repository's own compose.yml and deploy/Dockerfile, built and started
 * with `docker compose up --build --scale worker=4 --wait`, then used and broken through the proxy only,
 * as a user would. The steps run in order on one project and build on each other (the files written
 * early must survive the restarts later). Run by `npm run test:compose` (after deploy/docker/setup.sh);
 * a failed run prints every service's last log lines.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { chaosRun } from '../../bench/chaos/chaos-run.ts';
import { freePort } from '../../deploy/local/free-port.ts';
import type { ConsoleWalk } from '../browser/console-walk-options.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { makeImage, pngBomb } from '../helpers/processing-fixtures.ts';
import { ComposeProject, counterSum, repoRoot, run } from './compose-project.ts';
import { ContainerChaos } from './container-chaos.ts';
import { getHashed, idempotentLoad, putLarge, waitUntil } from './http-helpers.ts';

const log = (line: string) => process.stdout.write(`${line}\n`);
// The web console's walk (headless Chromium). Its module is typed against the DOM (test/browser has its
// own tsconfig), so it is loaded by a path the node-typed program does not follow.
const consoleWalkModule = '../browser/console-walk.ts';
const { consoleWalk } = (await import(consoleWalkModule)) as { consoleWalk: ConsoleWalk };
const MiB = 1 << 20;
const figures: Record<string, unknown> = {};

let project: ComposeProject;
let base: string;
let failed = false;
const tokens: Record<string, string> = {};
const large = { path: '', sha256: '', size: 256 * MiB };

/** On a failure, the health of every container and their logs are saved at once, before a later step changes them. */
const markFailure = () =>
  onTestFailed(async ({ task }) => {
    failed = true;
    const logs = `==== ${task.name}\n${await project.health()}\n\n${await project.logs(5000)}\n`;
    await mkdir(`${repoRoot}/.cache`, { recursive: true });
    await appendFile(`${repoRoot}/.cache/compose-logs.txt`, logs);
    log(
      `==== compose logs when "${task.name}" failed (also in .cache/compose-logs.txt) ====\n${logs.slice(-60_000)}`,
    );
  }, 120_000);

async function up(workers: number, build: boolean): Promise<number> {
  const started = Date.now();
  await project.compose(
    [
      'up',
      '-d',
      ...(build ? ['--build'] : []),
      '--scale',
      `worker=${workers}`,
      '--wait',
      '--wait-timeout',
      '180',
    ],
    20 * 60_000,
  );
  return Date.now() - started;
}

async function workersHealthy(count: number): Promise<boolean> {
  const workers = (await project.ps()).filter((c) => c.Service === 'worker' && c.State === 'running');
  return workers.length === count && workers.every((c) => c.Health === 'healthy');
}

/** The broker's own count of registered workers, read inside its container. */
async function brokerWorkers(): Promise<number> {
  const [broker] = await project.running('broker');
  if (broker === undefined) return -1;
  const out = await project.node(
    broker,
    "process.stdout.write(await (await fetch('http://127.0.0.1:9100/metrics')).text())",
  );
  return counterSum(out.stdout, 'podstore_broker_workers_alive');
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  project = new ComposeProject(
    'podstore-ci',
    {
      PODSTORE_PORT: String(port),
      PODSTORE_BIND_ADDRESS: '127.0.0.1',
      MINIO_SECRET_KEY: randomBytes(24).toString('hex'),
      LOG_LEVEL: 'warn',
    },
    log,
  );
  await rm(`${repoRoot}/.cache/compose-logs.txt`, { force: true });
  await project.down(['--volumes', '--remove-orphans']);
  figures.upColdMs = await up(4, true);
  log(`up --build --scale worker=4 --wait: ${figures.upColdMs} ms`);
}, 25 * 60_000);

afterAll(async () => {
  if (project === undefined) return;
  if (failed) log('the logs of each failed step are in .cache/compose-logs.txt');
  // A failed clean-up is reported, and must not hide the verdict of the tests themselves.
  await project
    .down(['--volumes', '--remove-orphans'])
    .catch((error: Error) => log(`clean-up: ${error.message}`));
  // Builds of podstore that this run's build replaced (untagged now) take space and nothing else.
  await run('docker', ['image', 'prune', '-f', '--filter', 'label=org.opencontainers.image.title=podstore']);
  log(`compose figures: ${JSON.stringify(figures)}`);
}, 240_000);

describe('podstore under docker compose (compose.yml as shipped)', () => {
  it('publishes only the proxy, on 127.0.0.1, and runs 4 workers and 2 apis', async () => {
    markFailure();
    const containers = await project.ps();
    const published = containers.flatMap((c) =>
      (c.Publishers ?? [])
        .filter((p) => p.PublishedPort > 0)
        .map((p) => `${c.Service} ${p.URL}:${p.PublishedPort}`),
    );
    expect(published).toEqual([`proxy 127.0.0.1:${new URL(base).port}`]);
    expect((await project.running('worker')).length).toBe(4);
    expect((await project.running('api')).length).toBe(2);
    expect(
      containers.every((c) => c.State === 'running' && (c.Health === '' || c.Health === 'healthy')),
    ).toBe(true);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBeTruthy();
  });

  it('tells the hospital story through the proxy', async () => {
    markFailure();
    for (const name of ['patient', 'hospital', 'stranger']) tokens[name] = await signUp(base, name);
    const as = (who: string, path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { ...bearer(tokens[who] as string), ...(init.headers as Record<string, string>) },
      });
    const grant = await as('patient', '/v1/users/patient/grants/hospital', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/medical/' }),
    });
    expect(grant.status).toBe(200);
    const lab = '/v1/users/patient/files/medical/lab-1.txt';
    const added = await as('hospital', lab, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'HbA1c 5.4 %',
    });
    expect(added.status).toBe(201);
    // The hospital may add, not read back, overwrite or delete; the patient reads it, cannot alter it.
    expect((await as('hospital', lab)).status).toBe(404);
    expect((await as('hospital', lab, { method: 'PUT', body: 'forged' })).status).toBe(403);
    expect((await as('hospital', lab, { method: 'DELETE' })).status).toBe(403);
    const read = await as('patient', lab);
    expect([read.status, read.headers.get('x-podstore-author'), await read.text()]).toEqual([
      200,
      'hospital',
      'HbA1c 5.4 %',
    ]);
    const altered = await as('patient', lab, { method: 'PUT', body: 'HbA1c 4.0 %' });
    expect(altered.status).toBe(403);
    expect(((await altered.json()) as { detail: string }).detail).toMatch(/sealed/);
    expect((await as('stranger', lab)).status).toBe(404);
  });

  it('processes files in the containers: a preview of an image, a failure for a bomb', async () => {
    markFailure();
    const as = (who: string, path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { ...bearer(tokens[who] as string), ...(init.headers as Record<string, string>) },
      });
    const scan = '/v1/users/patient/files/scans/knee.png';
    const bomb = '/v1/users/patient/files/scans/bomb.png';
    for (const [path, body] of [
      [scan, await makeImage('png', 1200, 800)],
      [bomb, pngBomb(30_000, 30_000)],
    ] as const) {
      const put = await as('patient', path, {
        method: 'PUT',
        headers: { 'content-type': 'image/png' },
        body,
      });
      expect(put.status).toBe(201);
    }
    let preview = Buffer.alloc(0);
    await waitUntil('the preview is made', 60_000, async () => {
      const res = await as('patient', `${scan}?preview=256`);
      if (res.status !== 200) return false;
      preview = Buffer.from(await res.arrayBuffer());
      return true;
    });
    const meta = await sharp(preview).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 256, 171]);
    let failed: { state: string; reason?: string } = { state: 'pending' };
    await waitUntil('the bomb is refused', 60_000, async () => {
      const res = await as('patient', `${bomb}?metadata`);
      failed = ((await res.json()) as { processing?: typeof failed }).processing ?? failed;
      return failed.state === 'failed';
    });
    expect(failed.reason).toBe('too_many_pixels');
    expect((await as('stranger', `${scan}?preview=256`)).status).toBe(404);
  });

  describe('the web console through the proxy (nginx routes / and /assets/ to the api replicas)', () => {
    consoleWalk({
      origin: () => base,
      patient: 'console-patient',
      hospital: 'console-hospital',
      reader: 'console-reader',
      screenshots: new URL('../../.cache/console-screenshots-compose/', import.meta.url),
    });
  });

  it('stores a 256 MiB file and gives back the same bytes', async () => {
    markFailure();
    large.path = `${base}/v1/users/patient/files/scans/ct.bin`;
    let started = Date.now();
    const put = await putLarge(large.path, tokens.patient as string, large.size);
    figures.upload256MiBps = Math.round((large.size / MiB / (Date.now() - started)) * 1000);
    expect(put.status).toBe(201);
    large.sha256 = put.sha256;
    started = Date.now();
    const got = await getHashed(large.path, tokens.patient as string);
    figures.download256MiBps = Math.round((large.size / MiB / (Date.now() - started)) * 1000);
    expect(got).toEqual({ status: 200, bytes: large.size, sha256: large.sha256 });
  }, 300_000);

  it('spreads requests over every worker and both api replicas (each one’s own metrics)', async () => {
    markFailure();
    const token = tokens.patient as string;
    // 400 reads, 8 at a time: within one caller's limits (more at once is answered 429, by design).
    const statuses = new Set<number>();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 50; i++) {
          const res = await fetch(`${base}/v1/users/patient/files/medical/lab-1.txt`, {
            headers: bearer(token),
          });
          await res.arrayBuffer();
          statuses.add(res.status);
        }
      }),
    );
    expect(statuses).toEqual(new Set([200]));
    for (const worker of await project.running('worker')) {
      const out = await project.node(
        worker,
        "process.stdout.write(await (await fetch('http://127.0.0.1:9101/metrics')).text())",
      );
      expect({ worker, commands: counterSum(out.stdout, 'podstore_worker_commands_total') > 0 }).toEqual({
        worker,
        commands: true,
      });
    }
    for (const api of await project.running('api')) {
      const out = await project.node(
        api,
        "process.stdout.write(await (await fetch('http://127.0.0.1:8080/metrics')).text())",
      );
      // Requests the proxy brought, not the container's own health checks.
      const served = counterSum(out.stdout, 'podstore_api_requests_total', (labels) =>
        labels.includes('/v1/'),
      );
      expect({ api, served: served > 0 }).toEqual({ api, served: true });
    }
  }, 120_000);

  it('scales workers 4 → 8 → 2 under load without failing an idempotent request', async () => {
    markFailure();
    let stopLoad: () => void = () => undefined;
    const stop = new Promise<void>((resolve) => {
      stopLoad = resolve;
    });
    const load = idempotentLoad(base, 'patient', tokens.patient as string, 8, stop);
    await new Promise((r) => setTimeout(r, 2000));
    let started = Date.now();
    await project.compose(['up', '-d', '--no-recreate', '--scale', 'worker=8', '--wait'], 300_000);
    figures.scaleTo8Ms = Date.now() - started;
    await waitUntil('8 workers registered at the broker', 60_000, async () => (await brokerWorkers()) === 8);
    await new Promise((r) => setTimeout(r, 3000));
    started = Date.now();
    await project.compose(['up', '-d', '--no-recreate', '--scale', 'worker=2', '--wait'], 300_000);
    figures.scaleTo2Ms = Date.now() - started;
    await new Promise((r) => setTimeout(r, 3000));
    stopLoad();
    const tally = await load;
    figures.scaleLoad = { requests: tally.requests, failures: tally.failures.length };
    expect(tally.requests).toBeGreaterThan(100);
    expect(tally.failures.slice(0, 5)).toEqual([]);
    expect((await project.running('worker')).length).toBe(2);
    await waitUntil('2 workers registered at the broker', 30_000, async () => (await brokerWorkers()) === 2);
  }, 600_000);

  it('keeps every acknowledged write while workers are docker-killed under load', async () => {
    markFailure();
    await up(3, false);
    const chaos = new ContainerChaos(project, 'kill-worker', 4000, log);
    const result = await chaosRun({
      target: {
        apiUrl: base,
        disruptor: chaos,
        recovered: () =>
          waitUntil('3 healthy workers', 120_000, () => workersHealthy(3)).then(() => undefined),
      },
      workers: 3,
      seconds: 16,
      connections: 8,
      killEveryS: 4,
      restartDelayMs: 0,
      seed: 11,
      maxErrorRate: 0.01,
      log,
    });
    figures.workerKills = { ...result.figures, returns: chaos.returns };
    expect(result.figures.kills).toBeGreaterThanOrEqual(3);
    // Docker's restart policy brought every killed worker back.
    expect(chaos.returns.length).toBe(result.figures.kills);
    expect(result.figures.readBack.checked).toBeGreaterThan(20);
    expect({ broken: result.verdict.broken, failures: result.failures.slice(0, 5) }).toEqual({
      broken: [],
      failures: [],
    });
  }, 600_000);

  it('keeps every acknowledged write across a docker restart of the broker under load', async () => {
    markFailure();
    const chaos = new ContainerChaos(project, 'restart-broker', 4000, log);
    const result = await chaosRun({
      target: {
        apiUrl: base,
        disruptor: chaos,
        recovered: async () => {
          await waitUntil('the broker healthy', 120_000, async () =>
            (await project.ps()).some((c) => c.Service === 'broker' && c.Health === 'healthy'),
          );
          await waitUntil('3 workers back at the broker', 60_000, async () => (await brokerWorkers()) === 3);
        },
      },
      workers: 3,
      seconds: 20,
      connections: 8,
      killEveryS: 4,
      restartDelayMs: 0,
      seed: 12,
      maxErrorRate: 1,
      log,
    });
    const { figures: f } = result;
    const back = chaos.returns[0]?.at ?? Number.POSITIVE_INFINITY;
    const lastFailure = Math.max(0, ...result.failures.map((x) => x.at));
    figures.brokerRestart = { ...f, brokerBackAt: back, lastFailureAt: lastFailure };
    expect(f.kills).toBe(1);
    // Service is back within 5 s of the broker's return: workers and apis reconnect by themselves.
    expect(lastFailure).toBeLessThan(back + 5);
    // While the broker is away, calls fail fast with 503 and Retry-After (idempotent ones too: there is
    // no broker to retry on); nothing acknowledged is lost, no read is wrong. An upload answered 503
    // while its body still streams through nginx arrives whole, not as a 502 (api/lingering-close.ts).
    // One request inside the restart window may get no answer at all (status 0: the client's own
    // connection to the published port failed; its cause is printed). Seen in 1 of 3 runs on
    // 2026-11-30, not yet explained; a second one, or one outside the window, fails the test.
    const noAnswer = result.failures.filter((x) => x.status === 0);
    if (noAnswer.length > 0) log(`no answer during the broker restart: ${JSON.stringify(noAnswer)}`);
    expect(noAnswer.length).toBeLessThanOrEqual(1);
    expect(noAnswer.every((x) => x.at < back + 5)).toBe(true);
    expect({
      intact: f.readBack.intact,
      wrongReads: f.wrongReadsDuringLoad,
      examples: result.failures
        .filter((x) => x.status !== 0 && !(x.status === 503 && x.retryAfter))
        .slice(0, 5),
    }).toEqual({ intact: f.readBack.checked, wrongReads: 0, examples: [] });
    expect(f.readBack.checked).toBeGreaterThan(20);
  }, 600_000);

  it('answers 503 while MinIO is stopped, and serves again once it is back', async () => {
    markFailure();
    const token = tokens.patient as string;
    const lab = `${base}/v1/users/patient/files/medical/lab-1.txt`;
    await project.compose(['stop', 'minio'], 120_000);
    const down = await fetch(lab, { headers: bearer(token) });
    const problem = (await down.json()) as { status: number };
    expect([down.status, problem.status, down.headers.get('retry-after') !== null]).toEqual([503, 503, true]);
    const write = await fetch(`${base}/v1/users/patient/files/notes/during-outage.txt`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(write.status).toBe(503);
    await project.compose(['start', 'minio'], 120_000);
    figures.minioRecoveryMs = await waitUntil('reads after MinIO returns', 120_000, async () => {
      const res = await fetch(lab, { headers: bearer(token) });
      return res.status === 200 && (await res.text()) === 'HbA1c 5.4 %';
    });
    // The write refused during the outage left nothing behind.
    const absent = await fetch(`${base}/v1/users/patient/files/notes/during-outage.txt`, {
      headers: bearer(token),
    });
    expect(absent.status).toBe(404);
  }, 300_000);

  it('keeps every file across `docker compose down` and `up` (volumes)', async () => {
    markFailure();
    await project.down();
    expect(await project.ps(true)).toEqual([]);
    figures.upWarmMs = await up(2, false);
    const lab = await fetch(`${base}/v1/users/patient/files/medical/lab-1.txt`, {
      headers: bearer(tokens.patient as string),
    });
    expect([lab.status, await lab.text()]).toEqual([200, 'HbA1c 5.4 %']);
    const got = await getHashed(large.path, tokens.patient as string);
    expect(got).toEqual({ status: 200, bytes: large.size, sha256: large.sha256 });
  }, 600_000);

  it('keeps the tiers apart: each container reaches only its neighbours', async () => {
    markFailure();
    // A TCP connection from inside a container: 'open', or the error (no such name, refused...).
    const reach = async (container: string, host: string, port: number) => {
      const out = await project.node(
        container,
        `import net from 'node:net';
         const s = net.connect({ host: '${host}', port: ${port}, timeout: 3000 });
         s.on('connect', () => { process.stdout.write('open'); s.destroy(); });
         s.on('timeout', () => { process.stdout.write('timeout'); s.destroy(); });
         s.on('error', (e) => process.stdout.write(e.code ?? e.message));`,
      );
      return out.stdout;
    };
    const [api] = await project.running('api');
    const [worker] = await project.running('worker');
    const [broker] = await project.running('broker');
    const seen = {
      'api → broker:5555': await reach(api as string, 'broker', 5555),
      'api → nats:4222': await reach(api as string, 'nats', 4222),
      'api → minio:9000': await reach(api as string, 'minio', 9000),
      'api → worker:9101': await reach(api as string, 'worker', 9101),
      'worker → minio:9000': await reach(worker as string, 'minio', 9000),
      'worker → broker:5556': await reach(worker as string, 'broker', 5556),
      'worker → api:8080': await reach(worker as string, 'api', 8080),
      'broker → minio:9000': await reach(broker as string, 'minio', 9000),
      'broker → nats:4222': await reach(broker as string, 'nats', 4222),
      // Neighbours on api-broker (the api connects to the broker, but the network is shared).
      'broker → api:8080': await reach(broker as string, 'api', 8080),
    };
    const open = Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v === 'open']));
    expect(open).toEqual({
      'api → broker:5555': true,
      'api → nats:4222': true,
      'api → minio:9000': false,
      'api → worker:9101': false,
      'worker → minio:9000': true,
      'worker → broker:5556': true,
      'worker → api:8080': false,
      'broker → minio:9000': false,
      'broker → nats:4222': false,
      'broker → api:8080': true,
    });
    // The proxy (no node in its image) reaches the api and nothing behind it.
    const [proxy] = await project.running('proxy');
    const wget = (url: string) =>
      project
        .exec(proxy as string, ['wget', '-q', '-T', '3', '-O', '/dev/null', url])
        .then((r) => r.code === 0);
    expect({
      api: await wget('http://api:8080/healthz'),
      broker: await wget('http://broker:9100/healthz'),
      minio: await wget('http://minio:9000/minio/health/live'),
    }).toEqual({ api: true, broker: false, minio: false });
  }, 120_000);

  it('runs from images pulled from a private registry (PODSTORE_IMAGE)', async () => {
    markFailure();
    // The operator's way: build once, push to a registry of one's own, pull on the hosts. Here the
    // registry is the distribution registry (built by deploy/docker/setup.sh) on 127.0.0.1.
    const registryBin = (
      await run('bash', ['deploy/docker/setup.sh', 'registry'], { timeoutMs: 600_000 })
    ).stdout.trim();
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'podstore-registry-'));
    await writeFile(
      join(dir, 'config.yml'),
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    const registry = spawn(registryBin, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    try {
      await waitUntil('the registry', 30_000, async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok);
      const image = `127.0.0.1:${port}/podstore:ci`;
      const docker = async (args: string[]) => {
        const r = await run('docker', args, { timeoutMs: 300_000 });
        if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      const built = (await docker(['image', 'inspect', '-f', '{{.Id}}', 'podstore:latest'])).trim();
      await docker(['tag', 'podstore:latest', image]);
      await docker(['push', image]);
      await docker(['image', 'rm', image]);
      const catalog = (await (await fetch(`http://127.0.0.1:${port}/v2/_catalog`)).json()) as {
        repositories: string[];
      };
      expect(catalog.repositories).toEqual(['podstore']);

      const pulled = new ComposeProject(project.name, { ...project.env, PODSTORE_IMAGE: image }, log);
      await pulled.compose(['pull', 'broker', 'worker', 'api'], 300_000);
      await pulled.compose(['up', '-d', '--no-build', '--scale', 'worker=2', '--wait'], 300_000);
      const images = new Set(
        (await pulled.ps())
          .filter((c) => ['broker', 'worker', 'api'].includes(c.Service))
          .map((c) => c.Image),
      );
      expect(images).toEqual(new Set([image]));
      // The same image the build made, now known by its registry digest.
      const digests = await docker(['image', 'inspect', '-f', '{{.Id}} {{json .RepoDigests}}', image]);
      expect(digests).toContain(built);
      expect(digests).toContain(`127.0.0.1:${port}/podstore@sha256:`);
      const lab = await fetch(`${base}/v1/users/patient/files/medical/lab-1.txt`, {
        headers: bearer(tokens.patient as string),
      });
      expect([lab.status, await lab.text()]).toEqual([200, 'HbA1c 5.4 %']);
      await pulled.down();
      await docker(['image', 'rm', image]);
    } finally {
      registry.kill();
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
