/**
 * The closed loop of `npm run load`: `connections` loops, each asking the scenario for its next
 * operation and running it as soon as the previous one ended, until the duration is over or the request
 * budget is spent (operations in flight then finish). Every operation is timed into the Recorder.
 */
import { type LoadSummary, Recorder, type StatusKey } from './recorder.ts';

export interface OpResult {
  status: number;
  /** Body bytes moved (uploads and downloads), for MiB/s. */
  bytes?: number;
}

export interface Op {
  name: string;
  run(): Promise<OpResult>;
}

/** A scenario after its set-up (users signed up, pods seeded): it hands out operations. */
export interface ScenarioRun {
  /** The next operation of connection `conn`; `seq` counts requests over all connections. */
  next(conn: number, seq: number): Op;
  /** Things the person running the load must know (a step skipped, say); printed and kept in the JSON. */
  notices: string[];
  /** Scenario-specific figures for the JSON result. */
  details?(): Record<string, unknown>;
  /** Removes what set-up created (best effort, untimed). */
  teardown(): Promise<void>;
}

export interface Bounds {
  /** Seconds. */
  duration?: number;
  requests?: number;
}

export interface Tick {
  elapsed: number;
  duration?: number;
  requests: number;
  limit?: number;
  errors: number;
  /** Requests per second over the last tick. */
  rps: number;
  p99: number;
}

/** The status of a failed operation: its HTTP status when it had one, else `network`. */
export function statusOf(err: unknown): StatusKey {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 100 ? String(status) : 'network';
}

export async function runLoad(
  run: ScenarioRun,
  connections: number,
  bounds: Bounds,
  onTick?: (tick: Tick) => void,
  tickMs = 1000,
): Promise<LoadSummary> {
  if (bounds.duration === undefined && bounds.requests === undefined) throw new Error('unbounded load run');
  const recorder = new Recorder();
  const started = performance.now();
  const until = bounds.duration === undefined ? Number.POSITIVE_INFINITY : started + bounds.duration * 1000;
  const limit = bounds.requests ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  let lastCount = 0;
  let lastTime = started;
  const ticker =
    onTick === undefined
      ? undefined
      : setInterval(() => {
          const now = performance.now();
          onTick({
            elapsed: (now - started) / 1000,
            ...(bounds.duration === undefined ? {} : { duration: bounds.duration }),
            ...(bounds.requests === undefined ? {} : { limit: bounds.requests }),
            requests: recorder.requests,
            errors: recorder.errors,
            rps: ((recorder.requests - lastCount) * 1000) / Math.max(1, now - lastTime),
            p99: recorder.p99(),
          });
          lastCount = recorder.requests;
          lastTime = now;
        }, tickMs);
  ticker?.unref();
  const loop = async (conn: number) => {
    while (performance.now() < until && issued < limit) {
      const seq = issued++;
      const op = run.next(conn, seq);
      const t0 = performance.now();
      try {
        const result = await op.run();
        recorder.record(op.name, String(result.status), performance.now() - t0, result.bytes ?? 0);
      } catch (err) {
        recorder.record(op.name, statusOf(err), performance.now() - t0);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, (_, conn) => loop(conn)));
  } finally {
    clearInterval(ticker);
  }
  const summary = recorder.summary((performance.now() - started) / 1000);
  recorder.destroy();
  return summary;
}
