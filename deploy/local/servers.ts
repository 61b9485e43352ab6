/**
 * Starts real MinIO and nats-server processes for tests and benchmarks: each on free loopback ports
 * with a fresh temp data folder, resolved once it answers its health check. The binaries come from
 * MINIO_BIN and NATS_BIN, which provisionBinaries (provision-binaries.ts) sets from deploy/provision.sh.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';
import { spawnTied } from './tied-spawn.ts';

export interface MinioServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** `http://127.0.0.1:<port>` of the monitoring endpoint (/healthz, /varz, ...). */
  monitorUrl: string;
  dataDir: string;
  stop(): Promise<void>;
  /**
   * Stops the server keeping its data, runs `whileDown` (if given), then starts it again on the same
   * ports and data folder; resolves once it answers its health check again.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

const MINIO_ACCESS_KEY = 'podstore-test';
const MINIO_SECRET_KEY = 'podstore-test-secret';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;
const START_ATTEMPTS = 3;

/** Children still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function binaryFromEnv(name: 'MINIO_BIN' | 'NATS_BIN'): string {
  const bin = process.env[name];
  if (!bin) {
    throw new Error(
      `${name} is not set: run the tests through vitest (its global setup runs deploy/provision.sh), ` +
        `or set ${name} to the binary's path`,
    );
  }
  return bin;
}

/** A started process whose output is kept (the last 64 KiB) for error messages. */
class ManagedProcess {
  readonly child: ChildProcess;
  #output = '';
  #exit: Promise<void>;
  exited = false;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawnTied(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_LIMIT);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.#exit = new Promise((resolve) => {
      this.child.once('error', (error) => {
        keep(Buffer.from(`\nspawn failed: ${error.message}\n`));
        this.exited = true;
        running.delete(this.child);
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        keep(Buffer.from(`\n[exited with ${signal ?? `code ${code}`}]\n`));
        this.exited = true;
        running.delete(this.child);
        resolve();
      });
    });
  }

  get output(): string {
    return this.#output;
  }

  /** Polls `isReady` until it resolves true; throws with the process output if it exits or times out. */
  async waitUntilReady(isReady: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!this.exited) {
      if (await isReady().catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `${this.label} did not become ready within ${START_TIMEOUT_MS} ms. Output:\n${this.output}`,
        );
      }
      await sleep(50);
    }
    throw new Error(`${this.label} exited during start-up. Output:\n${this.output}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.#exit;
    clearTimeout(timer);
  }
}

async function httpStatus(url: string): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.body?.cancel();
  return response.status;
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.body?.cancel();
  return response.status === 200;
}

/** Retries a start when the port picked turned out to be taken by the time the server bound it. */
async function withPortRetries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const addressInUse = /already in use|EADDRINUSE/i.test(String(error));
      if (!addressInUse || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

export async function startMinio(): Promise<MinioServer> {
  const bin = binaryFromEnv('MINIO_BIN');
  return withPortRetries(async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'podstore-minio-'));
    const port = await freePort();
    const consolePort = await freePort();
    const server = new ManagedProcess(
      `minio on port ${port}`,
      bin,
      ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`],
      {
        ...process.env,
        MINIO_ROOT_USER: MINIO_ACCESS_KEY,
        MINIO_ROOT_PASSWORD: MINIO_SECRET_KEY,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_CI_CD: 'on',
      },
    );
    const stop = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
    try {
      // "live" comes before MinIO has initialised its object layer (it then answers S3 with 503):
      // wait until an S3 request gets a real answer too.
      await server.waitUntilReady(
        async () =>
          (await httpOk(`http://127.0.0.1:${port}/minio/health/live`)) &&
          (await httpStatus(`http://127.0.0.1:${port}/`)) !== 503,
      );
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
    return {
      endpoint: `http://127.0.0.1:${port}`,
      port,
      accessKey: MINIO_ACCESS_KEY,
      secretKey: MINIO_SECRET_KEY,
      dataDir,
      stop,
    };
  });
}

export interface NatsOptions {
  jetstream?: boolean;
  /** The nats-server binary (default: NATS_BIN). */
  binary?: string;
  /** JetStream's folder, kept when the server stops (default: a temporary one, removed at stop). */
  storeDir?: string;
}

export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const bin = options.binary ?? binaryFromEnv('NATS_BIN');
  const kept = options.storeDir !== undefined;
  const removeData = (dir: string) => (kept ? Promise.resolve() : rm(dir, { recursive: true, force: true }));
  return withPortRetries(async () => {
    const dataDir = options.storeDir ?? (await mkdtemp(path.join(tmpdir(), 'podstore-nats-')));
    const port = await freePort();
    const monitorPort = await freePort();
    const args = ['--addr', '127.0.0.1', '--port', String(port), '--http_port', String(monitorPort)];
    if (options.jetstream) args.push('--jetstream', '--store_dir', dataDir);
    const monitorUrl = `http://127.0.0.1:${monitorPort}`;
    // /healthz answers 200 once the server accepts clients (and JetStream, when enabled, is up).
    const launch = async () => {
      const started = new ManagedProcess(`nats-server on port ${port}`, bin, args, process.env);
      await started.waitUntilReady(() => httpOk(`${monitorUrl}/healthz`));
      return started;
    };
    let server: ManagedProcess;
    try {
      server = await launch();
    } catch (error) {
      await removeData(dataDir);
      throw error;
    }
    const stop = async () => {
      await server.stop();
      await removeData(dataDir);
    };
    const restart = async (whileDown?: () => Promise<void>) => {
      await server.stop();
      await whileDown?.();
      server = await launch();
    };
    return { url: `nats://127.0.0.1:${port}`, port, monitorUrl, dataDir, stop, restart };
  });
}

/** The env a stack needs to use this MinIO (a chaos one or a plain one) with its own bucket. */
export const minioEnv = (
  minio: Pick<MinioServer, 'endpoint' | 'accessKey' | 'secretKey'>,
  bucket: string,
): Record<string, string> => ({
  MINIO_ENDPOINT: minio.endpoint,
  MINIO_ACCESS_KEY: minio.accessKey,
  MINIO_SECRET_KEY: minio.secretKey,
  MINIO_BUCKET: bucket,
});
