/**
 * The whole system as real processes on one machine: a broker, N workers and an api, each started with
 * `node --import tsx <process>/main.ts` and configured only through environment variables, exactly as
 * compose starts them. Used by `npm start` and by the integration tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LOG_LINES = 50_000;

export interface StackOptions {
  workers: number;
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
  api: ManagedProcess | undefined;
  readonly workers: ManagedProcess[] = [];
  #nextWorker = 0;

  constructor(readonly options: StackOptions) {}

  get apiUrl(): string {
    return `http://${this.options.host}:${this.options.apiPort}`;
  }

  get frontendEndpoint(): string {
    return `tcp://${this.options.host}:${this.options.frontendPort}`;
  }

  get backendEndpoint(): string {
    return `tcp://${this.options.host}:${this.options.backendPort}`;
  }

  /** Starts every process and resolves once the api reports all workers ready. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.startBroker();
    for (let i = 0; i < this.options.workers; i++) this.addWorker();
    this.startApi();
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

  startApi(): ManagedProcess {
    this.api = this.#spawn('api', 'api/main.ts', {
      API_HOST: this.options.host,
      API_PORT: String(this.options.apiPort),
      BROKER_FRONTEND_URL: this.frontendEndpoint,
    });
    return this.api;
  }

  /** Polls /readyz until at least `workers` workers serve users. */
  async waitReady(workers: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < until) {
      for (const p of this.#all()) {
        if (p.child.exitCode !== null)
          throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${tail(p)}`);
      }
      try {
        const res = await fetch(`${this.apiUrl}/readyz`);
        const body = (await res.json()) as { workers?: number; detail?: string };
        last = `${res.status} ${JSON.stringify(body)}`;
        if (res.status === 200 && (body.workers ?? 0) >= workers) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`stack not ready after ${timeoutMs} ms (last /readyz: ${last})`);
  }

  /** Stops everything (api first, broker last) and waits for the processes to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const order = [this.api, ...this.workers, this.broker].filter(
      (p): p is ManagedProcess => p !== undefined,
    );
    for (const p of order) await stopProcess(p, signal);
  }

  #all(): ManagedProcess[] {
    return [this.broker, this.api, ...this.workers].filter((p): p is ManagedProcess => p !== undefined);
  }

  #spawn(name: string, entry: string, env: Record<string, string>): ManagedProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
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

function tail(p: ManagedProcess): string {
  return p.lines.slice(-30).join('\n');
}
