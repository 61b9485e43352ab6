/**
 * A closed-loop load: `connections` concurrent loops each run `op` back to back for `seconds`; every
 * latency goes into an HDR histogram. Used for the direct-to-storage baseline, so that it is measured
 * the same way as the HTTP load.
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
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let requests = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          await op(next++);
        } catch {
          errors++;
        }
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        requests++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const { p50, p90, p99, max } = latencyOf(histogram);
  const result = {
    requests,
    errors,
    seconds: Math.round(elapsed * 100) / 100,
    rps: Math.round(requests / elapsed),
    p50,
    p90,
    p99,
    max,
  };
  histogram.destroy();
  return result;
}
