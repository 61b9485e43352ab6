/**
 * Starts the real system (broker, workers, api as processes) on free loopback ports for a test, with
 * fast heartbeats and logs kept in memory.
 */

import { freePort, freePortRange } from '../../deploy/local/free-port.ts';
import { LocalStack } from '../../deploy/local/stack.ts';

export { freePortRange } from '../../deploy/local/free-port.ts';

export interface TestStackOptions {
  workers: number;
  /** Api processes (behind a proxy when more than one). Default 1. */
  apis?: number;
  /** Storage and other settings; defaults give fast heartbeats. */
  env: Record<string, string>;
  workerMetrics?: boolean;
}

export async function startTestStack(options: TestStackOptions): Promise<LocalStack> {
  // A stack that does not come up is started once more on fresh ports, after printing what its
  // processes said: a port checked free can still be taken before the process binds it, and a start
  // can outlast the deadline on a loaded machine. A second failure fails the test, with that output.
  for (let attempt = 1; ; attempt++) {
    const stack = new LocalStack({
      workers: options.workers,
      ...(options.apis === undefined ? {} : { apis: options.apis }),
      host: '127.0.0.1',
      // With several apis, the proxy takes this port and api i the port + 1 + i.
      apiPort:
        options.apis !== undefined && options.apis > 1
          ? await freePortRange(options.apis + 1)
          : await freePort(),
      frontendPort: await freePort(),
      backendPort: await freePort(),
      brokerMetricsPort: await freePort(),
      workerMetricsBasePort: options.workerMetrics ? await freePortRange(options.workers + 2) : 0,
      env: {
        // Fast enough for tests, slow enough not to take a busy 2-core machine for a dead peer.
        HEARTBEAT_INTERVAL_MS: '250',
        HEARTBEAT_LIVENESS: '4',
        // A pod's home may answer from memory a second after the broker starts or loses a worker (not
        // two minutes): the tests' reads then go through the memory they must prove never stale.
        BROKER_PLACEMENT_QUIET_MS: '1000',
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
        ...options.env,
      },
      stdio: 'pipe',
    });
    try {
      await stack.start(45_000);
      return stack;
    } catch (err) {
      const said = lastLines(stack);
      await stack.stop('SIGKILL');
      const failure = new Error(`${(err as Error).message} (attempt ${attempt})\n${said}`, { cause: err });
      if (attempt >= 2) throw failure;
      console.warn(`test stack did not start; starting it again on other ports. ${failure.message}`);
    }
  }
}

/** The last lines each process of the stack wrote (what a start that failed has to say). */
function lastLines(stack: LocalStack, count = 15): string {
  const processes = [stack.broker, stack.proxy, ...stack.apis, ...stack.workers].filter(
    (p): p is NonNullable<typeof p> => p !== undefined,
  );
  return processes
    .map((p) => `--- ${p.name} (exit ${p.child.exitCode ?? 'none'}):\n${p.lines.slice(-count).join('\n')}`)
    .join('\n');
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
