/**
 * podstore's own Kubernetes manifests (deploy/k8s, through the test overlay deploy/k8s-test) on a real
 * single-node cluster (deploy/k8s/setup.sh): every pod ready, the hospital story through the api Service,
 * and the worker HorizontalPodAutoscaler adding workers under load and removing them after.
 * Run with `npm run test:k8s` (as root; it runs deploy/docker/setup.sh first for the engine and the MinIO
 * and NATS images; see deploy/k8s/README.md).
 * PODSTORE_K8S_KEEP=1 leaves the cluster running at the end.
 */
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { bearer, signUp } from '../helpers/accounts.ts';
import {
  buildPodstoreImage,
  type Cluster,
  clusterDown,
  clusterUp,
  deploymentReplicas,
  hpaStatus,
  importImages,
  kubectl,
  waitUntil,
} from './cluster.ts';

const NAMESPACE = 'podstore';
/** The api Service's NodePort in the test overlay, published by kube-proxy on 127.0.0.1 only. */
const base = 'http://127.0.0.1:30080';
/** Built from this tree for the test, under a tag of its own (the overlay's `images`). */
const PODSTORE_IMAGE = 'podstore:k8s-test';
const IMAGES = [PODSTORE_IMAGE, 'minio/minio:RELEASE.2025-09-07T16-13-09Z', 'nats:2.12-alpine'];
const DEPLOYMENTS = ['minio', 'nats', 'broker', 'worker', 'api'];
/** The overlay's HPA bounds. */
const MIN_WORKERS = 2;
const MAX_WORKERS = 4;

let cluster: Cluster;
/** Set when setup or a test fails: the cluster's state is printed before it is torn down. */
let failed = false;
const timings: Record<string, string> = {};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Account names of this run: a kept cluster (PODSTORE_K8S_KEEP=1) still has the last run's accounts. */
const run = Date.now().toString(36);

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  timings[name] = seconds(Date.now() - started);
  process.stderr.write(`k8s test: ${name}: ${timings[name]}\n`);
  return result;
}

beforeAll(async () => {
  try {
    await setUp();
  } catch (err) {
    failed = true;
    throw err;
  }
}, 1_800_000);

async function setUp(): Promise<void> {
  cluster = await timed('cluster setup (build cached or not, start or reuse)', clusterUp);
  await timed('podstore image (docker buildx build of this tree)', () => buildPodstoreImage(PODSTORE_IMAGE));
  const copied = await timed('image import into the node (the images not there yet)', () =>
    importImages(cluster, IMAGES),
  );
  process.stderr.write(`k8s test: imported ${copied.length ? copied.join(', ') : 'nothing (all there)'}\n`);
  const applied = Date.now();
  await kubectl(cluster, ['apply', '-k', 'deploy/k8s-test']);
  for (const name of DEPLOYMENTS)
    await kubectl(
      cluster,
      ['-n', NAMESPACE, 'rollout', 'status', `deployment/${name}`, '--timeout=300s'],
      310_000,
    );
  await kubectl(cluster, [
    '-n',
    NAMESPACE,
    'wait',
    '--for=condition=Ready',
    'pods',
    '--all',
    '--timeout=120s',
  ]);
  timings['apply to every pod Ready'] = seconds(Date.now() - applied);
  // Ready pods behind the NodePort: the api answers /readyz through the Service.
  await timed('api Service ready from the host', () =>
    waitUntil(
      'the api through its Service',
      60_000,
      async () => (await fetch(`${base}/readyz`)).status === 200,
    ),
  );
}

afterAll(async () => {
  if (failed && cluster !== undefined) await printClusterState(cluster).catch(() => {});
  // `down` is safe to run whatever state setup reached.
  if (process.env.PODSTORE_K8S_KEEP !== '1') await timed('teardown (setup.sh down)', clusterDown);
  process.stderr.write(
    `k8s test timings:\n${Object.entries(timings)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join('')}`,
  );
}, 180_000);

/** For a failed run's log: the pods, the recent events, and the last lines of each podstore pod. */
async function printClusterState(c: Cluster): Promise<void> {
  const out = (text: string) => process.stderr.write(`${text}\n`);
  out(await kubectl(c, ['-n', NAMESPACE, 'get', 'pods,hpa', '-o', 'wide']).catch(String));
  out(await kubectl(c, ['-n', NAMESPACE, 'get', 'events', '--sort-by=.lastTimestamp']).catch(String));
  for (const name of DEPLOYMENTS)
    out(
      await kubectl(c, [
        '-n',
        NAMESPACE,
        'logs',
        `deployment/${name}`,
        '--tail=30',
        '--all-containers',
      ]).catch(String),
    );
}

/** Bounded load (at most `durationS`) on one URL with a bearer token; `stop()` ends it early. */
function startLoad(url: string, token: string, connections: number, durationS: number, overallRate?: number) {
  let finish: (result: autocannon.Result) => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const options = { url, headers: bearer(token), connections, duration: durationS };
  const instance = autocannon(overallRate ? { ...options, overallRate } : options, (err, result) =>
    err ? fail(err) : finish(result),
  );
  return { done, stop: () => instance.stop() };
}

/** How many workers the broker routes to, as the api's /readyz says, through the Service. */
async function brokerWorkers(): Promise<number> {
  const res = await fetch(`${base}/readyz`);
  return res.status === 200 ? ((await res.json()) as { workers: number }).workers : 0;
}

/** The addresses of the Running pods of one podstore component. */
async function podIps(component: string): Promise<string[]> {
  const pods = JSON.parse(
    await kubectl(cluster, [
      '-n',
      NAMESPACE,
      'get',
      'pods',
      '-l',
      `app.kubernetes.io/component=${component}`,
      '--field-selector=status.phase=Running',
      '-o',
      'json',
    ]),
  ) as { items: { status: { podIP?: string } }[] };
  return pods.items.map((p) => p.status.podIP).filter((ip): ip is string => typeof ip === 'string');
}

/** Sums a Prometheus counter's samples whose labels contain `labels`. */
async function counter(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const sample = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (sample?.[1] === name && sample[2]?.includes(labels)) sum += Number(sample[3]);
  }
  return sum;
}

// Pod addresses are on this machine's bridge: the test reads each pod's own metrics port directly.
const workerFileCommands = (ip: string) =>
  counter(`http://${ip}:9101/metrics`, 'podstore_worker_commands_total', 'command="files.');
const apiUserRequests = (ip: string) =>
  counter(`http://${ip}:8080/metrics`, 'podstore_api_requests_total', 'route="/v1/users/');

interface ClusterPod {
  name: string;
  ready: boolean;
  restarts: number;
  /** The Ready condition's reason and message, for the log. */
  why: string;
}

/** The podstore namespace's pods: Ready or not (and why not), and how often their containers restarted. */
async function clusterPods(): Promise<ClusterPod[]> {
  const pods = JSON.parse(await kubectl(cluster, ['-n', NAMESPACE, 'get', 'pods', '-o', 'json'])) as {
    items: {
      metadata: { name: string };
      status: {
        phase?: string;
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
        containerStatuses?: { restartCount: number }[];
      };
    }[];
  };
  return pods.items.map((p) => {
    const ready = p.status.conditions?.find((c) => c.type === 'Ready');
    return {
      name: p.metadata.name,
      ready: ready?.status === 'True',
      restarts: (p.status.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0),
      why: `phase ${p.status.phase ?? '?'}, Ready ${ready?.status ?? '?'} (${ready?.reason ?? ''} ${ready?.message ?? ''})`,
    };
  });
}

describe('podstore on Kubernetes', () => {
  it('runs every pod of the manifests, Ready, none restarted', async () => {
    onTestFailed(() => {
      failed = true;
    });
    // Every pod was Ready when setup's `kubectl wait` returned, but on two cores shared with the control
    // plane a probe can miss for a moment right after (a fresh-clone run saw one worker not Ready a second
    // later, and nothing restarted): the pods must be Ready again within a bound, and whatever was not
    // Ready on the way is written to the log with the reason Kubernetes gives.
    let seen: ClusterPod[] = [];
    const waitedMs = await waitUntil('every pod Ready, the deployments at their counts', 60_000, async () => {
      seen = await clusterPods();
      const waiting = seen.filter((p) => !p.ready);
      for (const p of waiting) process.stderr.write(`k8s test: not Ready yet: ${p.name}: ${p.why}\n`);
      if (waiting.length > 0) return false;
      for (const name of DEPLOYMENTS) {
        const d = await deploymentReplicas(cluster, NAMESPACE, name);
        if (d.ready < 1 || d.ready !== d.replicas) return false;
      }
      return true;
    });
    timings['every pod Ready again after setup'] = seconds(waitedMs);
    // Nothing orders the pods' start: workers come up before MinIO answers, and wait for it rather than
    // exit and restart.
    expect(seen.filter((p) => p.restarts > 0).map((p) => p.name)).toEqual([]);
    expect((await deploymentReplicas(cluster, NAMESPACE, 'api')).ready).toBe(2);
    expect((await deploymentReplicas(cluster, NAMESPACE, 'worker')).ready).toBe(MIN_WORKERS);
  });

  it('tells the hospital story through the api Service', async () => {
    onTestFailed(() => {
      failed = true;
    });
    const started = Date.now();
    const names = { patient: `patient-${run}`, hospital: `hospital-${run}`, stranger: `stranger-${run}` };
    const tokens = {
      patient: await signUp(base, names.patient),
      hospital: await signUp(base, names.hospital, { name: 'General Hospital' }),
      stranger: await signUp(base, names.stranger),
    };
    const as = (who: keyof typeof tokens, path: string, init: RequestInit = {}) =>
      fetch(`${base}${path.replace('{patient}', names.patient)}`, {
        ...init,
        headers: { ...bearer(tokens[who]), ...(init.headers as Record<string, string>) },
      });
    const put = (who: keyof typeof tokens, path: string, body: string) =>
      as(who, path, { method: 'PUT', headers: { 'content-type': 'application/pdf' }, body });
    const lab = '/v1/users/{patient}/files/medical/lab-1.pdf';

    // The patient grants the hospital append on /medical/; the hospital adds a lab result there.
    const granted = await as('patient', `/v1/users/{patient}/grants/${names.hospital}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/medical/' }),
    });
    expect(granted.status).toBe(200);
    expect((await put('hospital', lab, 'haemoglobin 14.1 g/dL')).status).toBe(201);

    // The patient reads it, with the hospital as its author.
    const read = await as('patient', lab);
    expect([read.status, read.headers.get('x-podstore-author'), await read.text()]).toEqual([
      200,
      names.hospital,
      'haemoglobin 14.1 g/dL',
    ]);
    // Nobody alters it: the patient cannot overwrite what the hospital sealed, the hospital can neither
    // overwrite nor delete what it added, and a stranger cannot even see it.
    const overwrite = await put('patient', lab, 'altered');
    expect(overwrite.status).toBe(403);
    expect(((await overwrite.json()) as { detail: string }).detail).toMatch(/sealed/);
    expect((await put('hospital', lab, 'forged')).status).toBe(403);
    expect((await as('hospital', lab, { method: 'DELETE' })).status).toBe(403);
    expect((await as('stranger', lab)).status).toBe(404);
    // Still the hospital's result, unchanged.
    const again = await as('patient', lab);
    expect(await again.text()).toBe('haemoglobin 14.1 g/dL');
    timings['hospital story'] = seconds(Date.now() - started);
  });

  it('adds workers under load and removes them after', async () => {
    onTestFailed(() => {
      failed = true;
    });
    const token = await signUp(base, `load-${run}`);
    const file = `/v1/users/load-${run}/files/load.txt`;
    const created = await fetch(`${base}${file}`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'text/plain' },
      body: 'a small file, read over and over',
    });
    expect(created.status).toBe(201);
    // The HPA reports its replicas on its own period after the deployment is up: wait for its first
    // report rather than read it once (it said 1 for a moment in one run).
    await waitUntil(
      'the HPA to report its minimum',
      60_000,
      async () => (await hpaStatus(cluster, NAMESPACE, 'worker')).currentReplicas === MIN_WORKERS,
    );
    const before = await hpaStatus(cluster, NAMESPACE, 'worker');
    expect(before.currentReplicas).toBe(MIN_WORKERS);

    // Bounded load from this machine through the NodePort on 127.0.0.1: reads of one small file, which
    // every worker serves; it stops as soon as the HPA has added workers, and after 240 s at most.
    const loadStarted = Date.now();
    const heavy = startLoad(`${base}${file}`, token, 32, 240);
    let scaledUpMs = 0;
    let peak = 0;
    let registered = 0;
    try {
      scaledUpMs = await waitUntil('the HPA to add workers', 240_000, async () => {
        const hpa = await hpaStatus(cluster, NAMESPACE, 'worker');
        const workers = await deploymentReplicas(cluster, NAMESPACE, 'worker');
        peak = Math.max(peak, workers.ready);
        process.stderr.write(
          `k8s test: load ${seconds(Date.now() - loadStarted)}: cpu ${hpa.cpuUtilization ?? '?'}%, desired ${hpa.desiredReplicas}, ready ${workers.ready}\n`,
        );
        return workers.ready > MIN_WORKERS;
      });
      // The others the HPA asked for become Ready too, and every worker registers with the broker (the
      // api's /readyz counts the workers the broker routes to), while the load still runs.
      await waitUntil('the added workers to be Ready and registered', 90_000, async () => {
        const hpa = await hpaStatus(cluster, NAMESPACE, 'worker');
        const workers = await deploymentReplicas(cluster, NAMESPACE, 'worker');
        peak = Math.max(peak, workers.ready);
        registered = await brokerWorkers();
        return workers.ready >= hpa.desiredReplicas && registered === workers.ready;
      });
      // Every worker, the added ones included, serves part of the load (each one's own metrics).
      await new Promise((r) => setTimeout(r, 3000));
      const served = await Promise.all((await podIps('worker')).map((ip) => workerFileCommands(ip)));
      expect(served.length).toBe(registered);
      for (const count of served) expect(count).toBeGreaterThan(0);
      // The api Service spreads the load over both api replicas.
      const apis = await Promise.all((await podIps('api')).map((ip) => apiUserRequests(ip)));
      expect(apis.length).toBe(2);
      for (const count of apis) expect(count).toBeGreaterThan(0);
    } finally {
      heavy.stop();
    }
    const result = await heavy.done;
    timings['HPA scale-up (load start to a 3rd worker Ready)'] = seconds(scaledUpMs);
    timings['load to scale up'] =
      `${result.requests.total} requests, ${result.requests.average} req/s, ${result.non2xx} non-2xx, ${result.errors} errors`;
    expect(peak).toBeGreaterThan(MIN_WORKERS);
    expect(peak).toBeLessThanOrEqual(MAX_WORKERS);
    expect(registered).toBe(peak);
    expect([result.errors, result.non2xx]).toEqual([0, 0]);

    // After the load, a light one (20 requests a second): the HPA goes back to the minimum, the workers it
    // removes drain what they run (WORKER_GRACE_MS) and leave the broker, and no request fails meanwhile.
    const light = startLoad(`${base}${file}`, token, 2, 240, 20);
    let scaledDownMs = 0;
    try {
      scaledDownMs = await waitUntil('the HPA to remove the added workers', 240_000, async () => {
        const workers = await deploymentReplicas(cluster, NAMESPACE, 'worker');
        return workers.replicas === MIN_WORKERS && workers.ready === MIN_WORKERS;
      });
      await waitUntil(
        'the broker to route to 2 workers',
        30_000,
        async () => (await brokerWorkers()) === MIN_WORKERS,
      );
    } finally {
      light.stop();
    }
    const during = await light.done;
    timings['HPA scale-down (heavy load stop to 2 workers)'] = seconds(scaledDownMs);
    timings['light load during scale-down'] =
      `${during.requests.total} requests, ${during.non2xx} non-2xx, ${during.errors} errors`;
    expect(during.requests.total).toBeGreaterThan(0);
    expect([during.errors, during.non2xx]).toEqual([0, 0]);
  });
});
