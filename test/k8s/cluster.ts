/**
 * The single-node test cluster of deploy/k8s/setup.sh, seen from a test: start it (or reuse it), import
 * the locally built images into its container runtime, apply a kustomization, wait for pods, read the
 * HorizontalPodAutoscaler, and tear it all down.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const setupScript = `${repo}deploy/k8s/setup.sh`;

export interface Cluster {
  kubeconfig: string;
  containerdAddress: string;
  kubectlPath: string;
  crictlPath: string;
}

/** Runs a command; its stderr goes to ours (progress), its stdout is returned. Rejects on a non-zero exit. */
function runInherit(command: string, args: string[], input?: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repo, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
    });
    if (input && child.stdin) input.pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** `deploy/k8s/setup.sh up`: builds what is missing, starts or reuses the cluster. */
export async function clusterUp(): Promise<Cluster> {
  const out = await runInherit('bash', [setupScript, 'up']);
  const vars = new Map(
    out
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] as string, m[2] as string]),
  );
  const kubeconfig = vars.get('KUBECONFIG');
  const containerdAddress = vars.get('CONTAINERD_ADDRESS');
  const kubectlPath = vars.get('KUBECTL');
  const crictlPath = vars.get('CRICTL');
  if (!kubeconfig || !containerdAddress || !kubectlPath || !crictlPath)
    throw new Error(`setup.sh printed no cluster: ${out}`);
  return { kubeconfig, containerdAddress, kubectlPath, crictlPath };
}

/** `deploy/k8s/setup.sh down`: stops every process the setup started and removes its network state. */
export async function clusterDown(): Promise<void> {
  await runInherit('bash', [setupScript, 'down']);
}

export async function kubectl(cluster: Cluster, args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfig, ...args], {
    cwd: repo,
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export async function kubectlJson<T>(cluster: Cluster, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(cluster, [...args, '-o', 'json'])) as T;
}

/** The engine's image ID (`sha256:…`) of an image, or undefined if it does not have it. */
async function dockerImageId(image: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** `podstore:latest` → `docker.io/library/podstore:latest`, as the runtime names it. */
export function fullImageName(image: string): string {
  const first = image.split('/')[0] ?? '';
  if (!image.includes('/')) return `docker.io/library/${image}`;
  if (first.includes('.') || first.includes(':') || first === 'localhost') return image;
  return `docker.io/${image}`;
}

/** The node runtime's images: ID → names. */
async function nodeImages(cluster: Cluster): Promise<Map<string, string[]>> {
  const { stdout } = await run(cluster.crictlPath, [
    '--runtime-endpoint',
    `unix://${cluster.containerdAddress}`,
    'images',
    '-o',
    'json',
  ]);
  const list = JSON.parse(stdout) as { images: { id: string; repoTags?: string[] }[] };
  return new Map(list.images.map((i) => [i.id, i.repoTags ?? []]));
}

/** Builds the podstore image from this tree's deploy/Dockerfile (BuildKit's cache makes a rebuild quick). */
export async function buildPodstoreImage(image: string): Promise<void> {
  await runInherit('docker', ['buildx', 'build', '--load', '-f', 'deploy/Dockerfile', '-t', image, '.']);
}

/**
 * Copies images from the Docker engine into the cluster's container runtime (there is no registry), those
 * the runtime does not already hold under the same name and ID. Returns the names it copied.
 */
export async function importImages(cluster: Cluster, images: string[]): Promise<string[]> {
  const held = await nodeImages(cluster);
  const missing: string[] = [];
  for (const image of images) {
    const id = await dockerImageId(image);
    if (id === undefined)
      throw new Error(`image ${image} is not in the Docker engine (deploy/docker/setup.sh builds it)`);
    if (!held.get(id)?.includes(fullImageName(image))) missing.push(image);
  }
  if (missing.length === 0) return [];
  try {
    await copyImages(cluster, missing);
    return missing;
  } catch (error) {
    // The runtime unpacks each layer onto the snapshot of the one below; its garbage collector, freeing
    // what an earlier run's images left, can remove such a snapshot between the check and the unpack
    // ("parent snapshot … does not exist"). Once more after a moment; then without the test's images'
    // old copies (and what only they hold), all of them copied afresh. The sandbox image stays.
    console.warn(`k8s test: importing images failed (${(error as Error).message}); trying again`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    try {
      await copyImages(cluster, missing);
      return missing;
    } catch (again) {
      console.warn(`k8s test: importing images failed again (${(again as Error).message}); importing afresh`);
      const ctr = ['--address', cluster.containerdAddress, '--namespace', 'k8s.io'];
      const { stdout } = await run('ctr', [...ctr, 'images', 'ls', '-q']);
      const ours = new Set(images.map(fullImageName));
      const stale = stdout.split('\n').filter((name) => ours.has(name.trim()));
      if (stale.length > 0) await run('ctr', [...ctr, 'images', 'rm', '--sync', ...stale]);
      await copyImages(cluster, images);
      return images;
    }
  }
}

/** `docker save` of `images` piped into the runtime's `ctr images import`. */
async function copyImages(cluster: Cluster, images: string[]): Promise<void> {
  const save = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'inherit'] });
  const saved = new Promise<void>((resolve, reject) => {
    save.on('error', reject);
    save.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`docker save exited with ${code}`)),
    );
  });
  await Promise.all([
    runInherit(
      'ctr',
      ['--address', cluster.containerdAddress, '--namespace', 'k8s.io', 'images', 'import', '-'],
      save.stdout,
    ),
    saved,
  ]);
}

export interface HpaStatus {
  currentReplicas: number;
  desiredReplicas: number;
  cpuUtilization: number | undefined;
}

export async function hpaStatus(cluster: Cluster, namespace: string, name: string): Promise<HpaStatus> {
  const hpa = await kubectlJson<{
    status?: {
      currentReplicas?: number;
      desiredReplicas?: number;
      currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[];
    };
  }>(cluster, ['-n', namespace, 'get', 'hpa', name]);
  return {
    currentReplicas: hpa.status?.currentReplicas ?? 0,
    desiredReplicas: hpa.status?.desiredReplicas ?? 0,
    cpuUtilization: hpa.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization,
  };
}

export interface DeploymentReplicas {
  replicas: number;
  ready: number;
}

export async function deploymentReplicas(
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<DeploymentReplicas> {
  const d = await kubectlJson<{ status?: { replicas?: number; readyReplicas?: number } }>(cluster, [
    '-n',
    namespace,
    'get',
    'deployment',
    name,
  ]);
  return { replicas: d.status?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 };
}

/** Polls `check` every `everyMs` until it returns true; throws after `timeoutMs` with `what`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  everyMs = 2000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
