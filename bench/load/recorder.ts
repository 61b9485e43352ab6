/**
 * What a load run saw: every request's latency in HDR histograms (overall and per operation, in
 * microseconds), every answer's status, bytes moved. `summary()` turns it into the JSON result.
 */
import * as hdr from 'hdr-histogram-js';

/** An HTTP status, or `network` when no answer came at all. */
export type StatusKey = string;

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface OpSummary extends LatencyMs {
  requests: number;
  errors: number;
  rps: number;
}

export interface LoadSummary {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  latencyMs: LatencyMs;
  /** Every answer by status (`200`, `404`, `network`...). */
  statuses: Record<StatusKey, number>;
  /** The failures among them: anything but 2xx and 304. */
  errorsByStatus: Record<StatusKey, number>;
  ops: Record<string, OpSummary>;
  bytes: number;
  mibPerSecond: number;
}

/** 2xx and 304 are successes; anything else (including no answer) is an error. */
export function isSuccess(status: StatusKey): boolean {
  return /^2\d\d$/.test(status) || status === '304';
}

const newHistogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
type Histogram = ReturnType<typeof newHistogram>;

const round2 = (n: number) => Math.round(n * 100) / 100;

export function latencyOf(h: Histogram): LatencyMs {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  // A percentile is its bucket's highest equivalent value, which can pass the exact maximum: cap it.
  const ms = (us: number) => round2(Math.min(us, h.maxValue) / 1000);
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export class Recorder {
  readonly #all = newHistogram();
  readonly #ops = new Map<string, { histogram: Histogram; errors: number }>();
  readonly statuses: Record<StatusKey, number> = {};
  requests = 0;
  errors = 0;
  bytes = 0;

  record(op: string, status: StatusKey, latencyMs: number, bytes = 0): void {
    const us = Math.max(1, Math.round(latencyMs * 1000));
    this.#all.recordValue(us);
    let entry = this.#ops.get(op);
    if (entry === undefined) {
      entry = { histogram: newHistogram(), errors: 0 };
      this.#ops.set(op, entry);
    }
    entry.histogram.recordValue(us);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.requests++;
    this.bytes += bytes;
    if (!isSuccess(status)) {
      this.errors++;
      entry.errors++;
    }
  }

  /** p99 so far, in ms (for the progress line). */
  p99(): number {
    return this.#all.totalCount === 0 ? 0 : round2(this.#all.getValueAtPercentile(99) / 1000);
  }

  summary(seconds: number): LoadSummary {
    const perSecond = (n: number) => (seconds > 0 ? round2(n / seconds) : 0);
    const ops: Record<string, OpSummary> = {};
    for (const [name, { histogram, errors }] of [...this.#ops].sort(([a], [b]) => a.localeCompare(b))) {
      ops[name] = {
        requests: histogram.totalCount,
        errors,
        rps: perSecond(histogram.totalCount),
        ...latencyOf(histogram),
      };
    }
    const errorsByStatus = Object.fromEntries(Object.entries(this.statuses).filter(([s]) => !isSuccess(s)));
    return {
      requests: this.requests,
      errors: this.errors,
      seconds: round2(seconds),
      rps: perSecond(this.requests),
      latencyMs: latencyOf(this.#all),
      statuses: { ...this.statuses },
      errorsByStatus,
      ops,
      bytes: this.bytes,
      mibPerSecond: perSecond(this.bytes / 2 ** 20),
    };
  }

  destroy(): void {
    this.#all.destroy();
    for (const { histogram } of this.#ops.values()) histogram.destroy();
  }
}
