/**
 * Starts the real system (broker, workers, api as processes) on free loopback ports for a test, with
 * fast heartbeats and logs kept in memory.
 */
import { createServer } from 'node:net';
import { LocalStack } from '../../deploy/local/stack.ts';
import { freePort } from './free-port.ts';

/** `count` consecutive free ports, for the workers' metrics endpoints (worker i gets base + i). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface TestStackOptions {
  workers: number;
  /** Storage and other settings; defaults give fast heartbeats. */
  env: Record<string, string>;
  workerMetrics?: boolean;
}

export async function startTestStack(options: TestStackOptions): Promise<LocalStack> {
  const stack = new LocalStack({
    workers: options.workers,
    host: '127.0.0.1',
    apiPort: await freePort(),
    frontendPort: await freePort(),
    backendPort: await freePort(),
    brokerMetricsPort: await freePort(),
    workerMetricsBasePort: options.workerMetrics ? await freePortRange(options.workers + 2) : 0,
    env: {
      // Fast enough for tests, slow enough not to take a busy 2-core machine for a dead peer.
      HEARTBEAT_INTERVAL_MS: '250',
      HEARTBEAT_LIVENESS: '4',
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      ...options.env,
    },
    stdio: 'pipe',
  });
  try {
    await stack.start(45_000);
  } catch (err) {
    await stack.stop('SIGKILL');
    throw err;
  }
  return stack;
}

/** Parses a process's JSON log lines (non-JSON lines are skipped). */
export function logRecords(lines: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the log cap
    }
  }
  return out;
}
