/**
 * The whole system as real processes on one machine: a broker, N workers and M apis, each started with
 * `node --import tsx <process>/main.ts` (or the compiled `main.js`, `compiledDir`) and configured only
 * through environment variables, exactly as compose starts them. With more than one api, a round-robin reverse proxy (deploy/local/proxy-main.ts,
 * the stand-in for compose's nginx) takes the api port and api i listens on apiPort + 1 + i.
 * Used by `npm start` and by the integration tests.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from './tied-spawn.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LOG_LINES = 50_000;

export interface StackOptions {
  workers: number;
  /** Api processes (default 1). Above 1, the proxy listens on apiPort and api i on apiPort + 1 + i. */
  apis?: number;
  host: string;
  apiPort: number;
  frontendPort: number;
  backendPort: number;
  /** 0 turns the broker's metrics endpoint off. */
  brokerMetricsPort: number;
  /** Worker i gets this port + i; 0 turns worker metrics off. */
  workerMetricsBasePort: number;
  /** Extra environment for every process (storage, log level, heartbeats...). */
  env: Record<string, string>;
  /** `inherit` for a person at a terminal; `pipe` keeps each process's lines in memory (tests). */
  stdio: 'inherit' | 'pipe';
  /**
   * A directory with the output of `tsc -p tsconfig.build.json` (inside the repository, so that
   * node_modules and package.json are found above it): broker, workers and apis then run
   * `node <dir>/<process>/main.js`, as the image does, instead of the sources through tsx.
   */
  compiledDir?: string;
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Output lines, when stdio is `pipe`. */
  lines: string[];
  exited: Promise<number | null>;
}

export class LocalStack {
  broker: ManagedProcess | undefined;
  /** The reverse proxy in front of the apis, when there is more than one api. */
  proxy: ManagedProcess | undefined;
  readonly apis: ManagedProcess[] = [];
  readonly workers: ManagedProcess[] = [];
  #nextWorker = 0;

  constructor(readonly options: StackOptions) {}

  /** The first api process. */
  get api(): ManagedProcess | undefined {
    return this.apis[0];
  }

  get apiCount(): number {
    return this.options.apis ?? 1;
  }

  /** Where clients go: the proxy when there are several apis, else the api itself. */
  get apiUrl(): string {
    return `http://${this.options.host}:${this.options.apiPort}`;
  }

  /** Each api's own address, bypassing the proxy (for its /metrics, say). */
  get apiUrls(): string[] {
    return Array.from({ length: this.apiCount }, (_, i) => `http://${this.options.host}:${this.#apiPort(i)}`);
  }

  get frontendEndpoint(): string {
    return `tcp://${this.options.host}:${this.options.frontendPort}`;
  }

  get backendEndpoint(): string {
    return `tcp://${this.options.host}:${this.options.backendPort}`;
  }

  /** Starts every process and resolves once every api (and the proxy) reports all workers ready. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.startBroker();
    for (let i = 0; i < this.options.workers; i++) this.addWorker();
    for (let i = 0; i < this.apiCount; i++) this.startApi();
    if (this.apiCount > 1) this.startProxy();
    await this.waitReady(this.options.workers, timeoutMs);
  }

  startBroker(): ManagedProcess {
    const { host, frontendPort, backendPort, brokerMetricsPort } = this.options;
    this.broker = this.#spawn('broker', 'broker/main.ts', {
      BROKER_FRONTEND: `tcp://${host}:${frontendPort}`,
      BROKER_BACKEND: `tcp://${host}:${backendPort}`,
      BROKER_METRICS_PORT: String(brokerMetricsPort),
      BROKER_METRICS_HOST: host,
    });
    return this.broker;
  }

  /** Workers stopped on purpose (stopWorker): their exit is not a failure of the stack. */
  readonly #retired = new Set<ManagedProcess>();

  /** Stops a worker on purpose: SIGKILL (a crash) or SIGTERM (a graceful leave). */
  stopWorker(worker: ManagedProcess, signal: 'SIGKILL' | 'SIGTERM'): void {
    this.#retired.add(worker);
    worker.child.kill(signal);
  }

  addWorker(): ManagedProcess {
    const i = this.#nextWorker++;
    const base = this.options.workerMetricsBasePort;
    const worker = this.#spawn(`worker-${i + 1}`, 'worker/main.ts', {
      BROKER_BACKEND_URL: this.backendEndpoint,
      WORKER_METRICS_PORT: String(base === 0 ? 0 : base + i),
      WORKER_METRICS_HOST: this.options.host,
    });
    this.workers.push(worker);
    return worker;
  }

  /** Starts the next api process (api-1, api-2, ...; plain `api` when there is only one). */
  startApi(): ManagedProcess {
    const i = this.apis.length;
    const api = this.#spawn(this.apiCount > 1 ? `api-${i + 1}` : 'api', 'api/main.ts', {
      API_HOST: this.options.host,
      API_PORT: String(this.#apiPort(i)),
      BROKER_FRONTEND_URL: this.frontendEndpoint,
    });
    this.apis.push(api);
    return api;
  }

  /** The round-robin reverse proxy on apiPort, in front of every api. */
  startProxy(): ManagedProcess {
    const { host, apiPort } = this.options;
    const upstreams = Array.from({ length: this.apiCount }, (_, i) => `${host}:${this.#apiPort(i)}`);
    this.proxy = this.#spawn('proxy', 'deploy/local/proxy-main.ts', {
      PROXY_HOST: host,
      PROXY_PORT: String(apiPort),
      PROXY_UPSTREAMS: upstreams.join(','),
    });
    return this.proxy;
  }

  /** Polls /readyz of every api, and through the proxy, until each sees at least `workers` workers. */
  async waitReady(workers: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    const urls = this.proxy === undefined ? this.apiUrls : [...this.apiUrls, this.apiUrl];
    let last = 'no answer';
    while (Date.now() < until) {
      for (const p of this.#all()) {
        if (p.child.exitCode !== null && !this.#retired.has(p))
          throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${tail(p)}`);
      }
      const answers = await Promise.all(urls.map((url) => readiness(url, workers)));
      const waiting = answers.find((answer) => answer !== 'ready');
      if (waiting === undefined) return;
      last = waiting;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`stack not ready after ${timeoutMs} ms (last /readyz: ${last})`);
  }

  /** Stops everything (proxy and apis first, broker last) and waits for the processes to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const order = [this.proxy, ...this.apis, ...this.workers, this.broker].filter(
      (p): p is ManagedProcess => p !== undefined,
    );
    for (const p of order) await stopProcess(p, signal);
  }

  #apiPort(i: number): number {
    return this.apiCount > 1 ? this.options.apiPort + 1 + i : this.options.apiPort;
  }

  #all(): ManagedProcess[] {
    return [this.broker, this.proxy, ...this.apis, ...this.workers].filter(
      (p): p is ManagedProcess => p !== undefined,
    );
  }

  #spawn(name: string, entry: string, env: Record<string, string>): ManagedProcess {
    // NODE_EXTRA_ARGS: flags for every child node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (profiling).
    const extra = (this.options.env.NODE_EXTRA_ARGS ?? process.env.NODE_EXTRA_ARGS ?? '').split(/\s+/);
    const compiled = this.options.compiledDir;
    const runs =
      compiled !== undefined && !entry.startsWith('deploy/') // the proxy is not part of the build
        ? [path.join(compiled, entry.replace(/\.ts$/, '.js'))]
        : ['--import', 'tsx', entry];
    const child = spawnTied(process.execPath, [...extra.filter(Boolean), ...runs], {
      cwd: ROOT,
      env: { ...process.env, ...this.options.env, ...env },
      stdio: this.options.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      // At a terminal, Ctrl-C signals the whole foreground group; children in a group of their own get
      // exactly one SIGTERM, from stop(), and drain instead of taking it for a second, forcing signal.
      detached: this.options.stdio === 'inherit',
    });
    if (this.options.stdio === 'pipe') {
      // Owned by this process (a test, a benchmark): never outlive it.
      const kill = () => child.kill('SIGKILL');
      process.once('exit', kill);
      child.once('exit', () => process.off('exit', kill));
    }
    const managed: ManagedProcess = {
      name,
      child,
      lines: [],
      exited: once(child, 'exit').then(([code]) => code as number | null),
    };
    if (this.options.stdio === 'pipe') {
      for (const stream of [child.stdout, child.stderr]) {
        let rest = '';
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          const parts = (rest + chunk).split('\n');
          rest = parts.pop() ?? '';
          managed.lines.push(...parts);
          if (managed.lines.length > MAX_LOG_LINES)
            managed.lines.splice(0, managed.lines.length - MAX_LOG_LINES);
        });
      }
    }
    return managed;
  }
}

/** Sends `signal` and waits for the exit; SIGKILL after 15 s. Resolves to the exit code. */
export async function stopProcess(
  p: ManagedProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** `ready` when `url`/readyz answers 200 with at least `workers` workers, else what it said. */
async function readiness(url: string, workers: number): Promise<string> {
  try {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { workers?: number; detail?: string };
    if (res.status === 200 && (body.workers ?? 0) >= workers) return 'ready';
    return `${url}: ${res.status} ${JSON.stringify(body)}`;
  } catch (err) {
    return `${url}: ${(err as Error).message}`;
  }
}

function tail(p: ManagedProcess): string {
  return p.lines.slice(-30).join('\n');
}
