/**
 * One point of the scaling curve: the `processing` load scenario (CPU-heavy, sha256 in the worker)
 * against the running stack, after a short warm-up, reported as a ScalingRun.
 */
import { loadRun } from '../load/load-run.ts';
import type { ScalingRun } from '../results-types.ts';

export interface ScalingOptions {
  apiUrl: string;
  workers: number;
  connections: number;
  seconds: number;
  mib: number;
  log: (line: string) => void;
}

export async function processingAt(o: ScalingOptions): Promise<ScalingRun> {
  const args = {
    url: o.apiUrl,
    scenario: 'processing' as const,
    connections: o.connections,
    users: 1,
    mib: o.mib,
    progress: false,
  };
  const quiet = () => undefined;
  await loadRun({ ...args, duration: Math.min(2, o.seconds / 5) }, { log: quiet });
  o.log(`processing with ${o.workers} workers: ${o.connections} connections, ${o.seconds} s`);
  const result = await loadRun({ ...args, duration: o.seconds }, { log: quiet });
  return {
    workers: o.workers,
    requests: result.requests,
    errors: result.errors,
    rps: result.rps,
    ...result.latencyMs,
    requestsByWorkerPid: (result.details.requestsByWorkerPid ?? {}) as Record<string, number>,
  };
}
