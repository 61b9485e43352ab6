/**
 * A closed-loop load: `connections` concurrent loops each run `op` back to back for `seconds`; every
 * latency goes into an HDR histogram. Used for the direct-to-storage baseline, so that it is measured
 * the same way as the HTTP load, and for the echo comparison (in alternating slices).
 */
import * as hdr from 'hdr-histogram-js';
import { latencyOf } from './load/recorder.ts';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export async function closedLoop(
  op: (i: number) => Promise<void>,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const results = await alternatingLoops({ only: op }, connections, seconds, 1);
  return results.only as LoadResult;
}

/**
 * Closed loops of several operations measured in turns: `slices` slices of `seconds / slices` each,
 * one operation after the other (A, B, A, B...), each operation's latencies in one histogram. On a
 * machine whose load changes during the run (other processes), every operation sees the same mix of
 * quiet and busy moments, so their ratio is steadier than with one run after the other.
 */
export async function alternatingLoops<Name extends string>(
  ops: Record<Name, (i: number) => Promise<void>>,
  connections: number,
  seconds: number,
  slices: number,
): Promise<Record<Name, LoadResult>> {
  const names = Object.keys(ops) as Name[];
  const state = new Map(
    names.map((name) => [
      name,
      {
        histogram: hdr.build({
          lowestDiscernibleValue: 1,
          highestTrackableValue: 60_000_000,
          numberOfSignificantValueDigits: 3,
        }),
        requests: 0,
        errors: 0,
        elapsedMs: 0,
      },
    ]),
  );
  for (let slice = 0; slice < slices; slice++) {
    for (const name of names) {
      const s = state.get(name) as NonNullable<ReturnType<typeof state.get>>;
      const op = ops[name];
      let next = 0;
      const started = performance.now();
      const until = started + (seconds * 1000) / slices;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (performance.now() < until) {
            const t0 = performance.now();
            try {
              await op(next++);
            } catch {
              s.errors++;
            }
            s.histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
            s.requests++;
          }
        }),
      );
      s.elapsedMs += performance.now() - started;
    }
  }
  const results = {} as Record<Name, LoadResult>;
  for (const name of names) {
    const s = state.get(name) as NonNullable<ReturnType<typeof state.get>>;
    const elapsed = s.elapsedMs / 1000;
    const { p50, p90, p99, max } = latencyOf(s.histogram);
    results[name] = {
      requests: s.requests,
      errors: s.errors,
      seconds: Math.round(elapsed * 100) / 100,
      rps: Math.round(s.requests / elapsed),
      p50,
      p90,
      p99,
      max,
    };
    s.histogram.destroy();
  }
  return results;
}
