/**
 * Tools for the chaos tests: a MinIO that can be frozen (SIGSTOP: every request hangs), thawed, killed
 * (requests are refused) and started again on the same port and data; polling with a deadline instead
 * of fixed sleeps; Prometheus metrics read from a process's /metrics; the worker streaming a transfer
 * found by its gauge and SIGKILLed; an HTTP upload that the test feeds chunk by chunk, so a command
 * stays in flight exactly as long as the test wants. Loopback only.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, freePortRange } from '../../deploy/local/free-port.ts';
import { LocalStack, type ManagedProcess } from '../../deploy/local/stack.ts';
import { spawnTied } from '../../deploy/local/tied-spawn.ts';

const ACCESS_KEY = 'podstore-chaos';
const SECRET_KEY = 'podstore-chaos-secret';

/**
 * A test stack (real processes, loopback) with metrics on the broker and on every worker, including
 * up to `spareWorkers` started later to replace killed ones. Heartbeats every 250 ms, a peer dead after
 * 4 missed ones (1 s): quick to notice a kill, yet tolerant of a 2-core machine busy with other tests.
 */
export const CHAOS_HEARTBEAT = { HEARTBEAT_INTERVAL_MS: '250', HEARTBEAT_LIVENESS: '4' };

export async function startChaosStack(options: {
  workers: number;
  spareWorkers?: number;
  env: Record<string, string>;
  heartbeatMs?: number;
}): Promise<LocalStack> {
  const stack = new LocalStack({
    workers: options.workers,
    host: '127.0.0.1',
    apiPort: await freePort(),
    frontendPort: await freePort(),
    backendPort: await freePort(),
    brokerMetricsPort: await freePort(),
    workerMetricsBasePort: await freePortRange(options.workers + (options.spareWorkers ?? 0)),
    env: {
      ...CHAOS_HEARTBEAT,
      // Pods' homes answer from memory soon after a start or a lost worker: the chaos must meet it.
      BROKER_PLACEMENT_QUIET_MS: '1000',
      ...(options.heartbeatMs === undefined ? {} : { HEARTBEAT_INTERVAL_MS: String(options.heartbeatMs) }),
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      ...options.env,
    },
    stdio: 'pipe',
  });
  try {
    await stack.start(60_000);
  } catch (err) {
    await stack.stop('SIGKILL');
    throw err;
  }
  return stack;
}

/** Workers that are still running, by index. */
export const liveWorkers = (stack: LocalStack): number[] =>
  stack.workers
    .map((w, i) => (w.child.exitCode === null && w.child.signalCode === null ? i : -1))
    .filter((i) => i >= 0);

/** SIGKILLs worker `i` and waits for it to be gone. */
export async function killWorker(stack: LocalStack, i: number): Promise<void> {
  const w = stack.workers[i] as ManagedProcess;
  w.child.kill('SIGKILL');
  await w.exited;
}

/**
 * SIGKILLs one live worker that has a stream (an upload or a download) in flight, by its own
 * `podstore_worker_streams_in_flight` gauge; resolves to its index, or -1 if none had one (between two
 * requests: try again).
 */
export async function killStreamingWorker(stack: LocalStack): Promise<number> {
  for (const i of liveWorkers(stack)) {
    if ((await metric(workerMetricsUrl(stack, i), 'podstore_worker_streams_in_flight')) > 0) {
      await killWorker(stack, i);
      return i;
    }
  }
  return -1;
}

/**
 * Once `when()` is true (checked every 100 ms), SIGKILLs the worker streaming (killStreamingWorker)
 * and starts a replacement, once. `killed` is its index once done; `stop()` ends the watch.
 */
export function killStreamingWorkerOnce(
  stack: LocalStack,
  when: () => boolean,
): { readonly killed: number | undefined; stop(): void } {
  let killed: number | undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (killed !== undefined || busy || !when()) return;
    busy = true;
    void killStreamingWorker(stack)
      .then((i) => {
        if (i < 0) return;
        killed = i;
        stack.addWorker();
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 100);
  return {
    get killed() {
      return killed;
    },
    stop: () => clearInterval(timer),
  };
}

/** Polls `check` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${last})` : ''}`);
}

/** Sum of the samples of `name` (with these labels) at a Prometheus endpoint; 0 if absent. */
export async function metric(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

export const workerMetricsUrl = (stack: LocalStack, i: number) =>
  `http://${stack.options.host}:${stack.options.workerMetricsBasePort + i}/metrics`;

export const brokerMetricsUrl = (stack: LocalStack) =>
  `http://${stack.options.host}:${stack.options.brokerMetricsPort}/metrics`;

/** Index of a live worker with a command in flight (its own in-flight gauge says so). */
export async function busyWorker(stack: LocalStack, except: number[] = []): Promise<number> {
  return waitFor('a worker with a command in flight', async () => {
    for (let i = 0; i < stack.workers.length; i++) {
      const w = stack.workers[i] as ManagedProcess;
      if (except.includes(i) || w.child.exitCode !== null || w.child.signalCode !== null) continue;
      if ((await metric(workerMetricsUrl(stack, i), 'podstore_worker_in_flight')) > 0) return i;
    }
    return undefined;
  });
}

export interface ChaosMinio {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** SIGSTOP: the process stays, every request to it hangs. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL: connections are refused until restart(). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startChaosMinio(): Promise<ChaosMinio> {
  const bin = process.env.MINIO_BIN;
  if (!bin) throw new Error('MINIO_BIN is not set: run the tests through vitest (global setup)');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'podstore-chaos-minio-'));
  const port = await freePort();
  const consolePort = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  const kill = () => child?.kill('SIGKILL');
  process.once('exit', kill);

  const launch = async () => {
    output = '';
    child = spawnTied(
      bin,
      ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`],
      {
        env: {
          ...process.env,
          MINIO_ROOT_USER: ACCESS_KEY,
          MINIO_ROOT_PASSWORD: SECRET_KEY,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          MINIO_CI_CD: 'on',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-16_384);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const started = child;
    await waitFor(
      `MinIO on ${port} to answer${output ? `; output: ${output}` : ''}`,
      async () => {
        if (started.exitCode !== null) throw new Error(`MinIO exited: ${output}`);
        const res = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.status !== 200) return false;
        // "live" comes before MinIO has initialised its object layer (S3 answers 503 until then).
        const s3 = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
        await s3.body?.cancel();
        return s3.status !== 503;
      },
      30_000,
      100,
    );
  };
  const killNow = async () => {
    const current = child;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    current.kill('SIGCONT');
    current.kill('SIGKILL');
    await once(current, 'exit');
  };

  await launch();
  return {
    endpoint,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    kill: killNow,
    restart: async () => {
      await killNow();
      await launch();
    },
    stop: async () => {
      await killNow();
      process.off('exit', kill);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * An HTTP request whose body the test sends piece by piece (`write`, then `end`), so the command it
 * starts stays in flight as long as the test wants. `answer` settles with the response, or rejects if
 * the connection breaks first.
 */
export function manualUpload(
  url: string,
  method: string,
  headers: Record<string, string>,
): { write(chunk: Buffer): void; end(): void; answer: Promise<HttpAnswer>; request: ClientRequest } {
  const target = new URL(url);
  let settle!: { resolve: (a: HttpAnswer) => void; reject: (e: Error) => void };
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const request = httpRequest(
    {
      host: target.hostname,
      port: target.port,
      method,
      path: target.pathname + target.search,
      headers: { 'transfer-encoding': 'chunked', ...headers },
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        settle.resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', settle.reject);
    },
  );
  request.on('error', (error) => settle.reject(error));
  answer.catch(() => undefined);
  return {
    write: (chunk) => request.write(chunk),
    end: () => request.end(),
    answer,
    request,
  };
}

/** Reads a response body at most `bytesPerTick` bytes every `tickMs`: a slow download client. */
export function slowDownload(
  url: string,
  headers: Record<string, string>,
): {
  status: Promise<number>;
  result: Promise<{ bytes: number; error?: Error; length: number; sha256: string }>;
  response: Promise<IncomingMessage>;
} {
  const target = new URL(url);
  let resolveResponse!: (res: IncomingMessage) => void;
  let rejectResponse!: (e: Error) => void;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  const request = httpRequest(
    { host: target.hostname, port: target.port, path: target.pathname, headers },
    (res) => {
      res.pause();
      resolveResponse(res);
    },
  );
  request.on('error', rejectResponse);
  request.end();
  response.catch(() => undefined);
  const result = response.then(
    (res) =>
      new Promise<{ bytes: number; error?: Error; length: number; sha256: string }>((resolve) => {
        let bytes = 0;
        const hash = createHash('sha256');
        const length = Number(res.headers['content-length'] ?? -1);
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        let digest: string | undefined;
        const done = (error?: Error) => {
          digest ??= hash.digest('hex');
          resolve({ bytes, length, sha256: digest, ...(error ? { error } : {}) });
        };
        res.on('end', () => done());
        res.on('error', (error) => done(error));
        res.on('close', () => done(res.complete ? undefined : new Error('closed')));
      }),
  );
  return { status: response.then((r) => r.statusCode ?? 0), result, response };
}
