/** Load-run statistics and their rendering: HDR percentiles, errors by status, the tables, the goals. */
import { describe, expect, it } from 'vitest';
import { evaluateGoals, largestRss } from '../../bench/goals.ts';
import { isSuccess, Recorder } from '../../bench/load/recorder.ts';
import { progressLine, renderSummary } from '../../bench/load/render.ts';
import { runLoad, statusOf } from '../../bench/load/runner.ts';
import { pickWeighted } from '../../bench/load/scenarios/common.ts';
import { renderReport } from '../../bench/report.ts';
import type { SuiteResults } from '../../bench/results-types.ts';
import { testMachine, testSettings } from '../helpers/bench-results.ts';

describe('Recorder', () => {
  it('gives percentiles of 1..100 ms and splits errors by status', () => {
    const recorder = new Recorder();
    for (let ms = 1; ms <= 100; ms++)
      recorder.record(ms % 2 ? 'get' : 'put', ms === 100 ? '503' : '200', ms, 10);
    recorder.record('get', 'network', 5);
    const s = recorder.summary(2);
    expect(s.requests).toBe(101);
    expect(s.rps).toBe(50.5);
    expect(s.errors).toBe(2);
    expect(s.errorsByStatus).toEqual({ '503': 1, network: 1 });
    expect(s.statuses).toEqual({ '200': 99, '503': 1, network: 1 });
    expect(s.latencyMs.p50).toBeCloseTo(50, 0);
    expect(s.latencyMs.p90).toBeCloseTo(90, 0);
    expect(s.latencyMs.p99).toBeCloseTo(99, 0);
    expect(s.latencyMs.max).toBeCloseTo(100, 0);
    expect(s.ops.get?.requests).toBe(51);
    expect(s.ops.put?.errors).toBe(1);
    expect(s.bytes).toBe(1000);
    recorder.destroy();
  });

  it('keeps percentiles at or below the maximum', () => {
    const recorder = new Recorder();
    recorder.record('x', '200', 2103.97);
    recorder.record('x', '200', 1049.6);
    const { latencyMs } = recorder.summary(1);
    expect(latencyMs.p99).toBeLessThanOrEqual(latencyMs.max);
    expect(latencyMs.max).toBeCloseTo(2104, 0);
  });

  it('counts 2xx and 304 as successes', () => {
    expect(['200', '201', '204', '206', '304'].every(isSuccess)).toBe(true);
    expect(['301', '404', '409', '500', 'network'].some(isSuccess)).toBe(false);
  });
});

describe('runLoad', () => {
  it('stops at the request budget and records what the operations answered', async () => {
    let n = 0;
    const summary = await runLoad(
      {
        notices: [],
        next: () => ({
          name: 'op',
          run: async () => {
            n++;
            if (n % 10 === 0) throw Object.assign(new Error('x'), { status: 409 });
            if (n % 7 === 0) throw new TypeError('fetch failed');
            return { status: 200 };
          },
        }),
        teardown: async () => undefined,
      },
      4,
      { requests: 50 },
    );
    expect(summary.requests).toBe(50);
    expect(summary.errorsByStatus['409']).toBe(5);
    expect(summary.errorsByStatus.network).toBeGreaterThan(0);
  });

  it('refuses an unbounded run', async () => {
    const run = {
      notices: [],
      next: () => ({ name: 'x', run: async () => ({ status: 200 }) }),
      teardown: async () => {},
    };
    await expect(runLoad(run, 1, {})).rejects.toThrow(/unbounded/);
  });

  it('takes the status of an SDK error, else network', () => {
    expect(statusOf({ status: 404 })).toBe('404');
    expect(statusOf(new TypeError('fetch failed'))).toBe('network');
    expect(statusOf(undefined)).toBe('network');
  });
});

describe('rendering a load run', () => {
  const recorder = new Recorder();
  recorder.record('get', '200', 3);
  recorder.record('put', '503', 7);
  const summary = recorder.summary(1);

  it('prints throughput, percentiles, statuses and errors, and each operation', () => {
    const text = renderSummary(
      { scenario: 'small-files', url: 'http://127.0.0.1:8080', connections: 2, notices: ['grants skipped'] },
      summary,
    );
    expect(text).toContain('small-files against http://127.0.0.1:8080, 2 connections');
    expect(text).toContain('notice: grants skipped');
    expect(text).toContain('requests   2 (2 req/s)');
    expect(text).toMatch(/p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p99 [\d.]+ ms {2}max [\d.]+ ms/);
    expect(text).toContain('statuses   200 ×1, 503 ×1');
    expect(text).toContain('errors     1 (503 ×1)');
    expect(text).toMatch(/^\| get \| 1 \| 1 \|/m);
    expect(text).toMatch(/^\| put \| 1 \| 1 \|.* \| 1 \|$/m);
  });

  it('draws a progress line with the bounds it has', () => {
    expect(
      progressLine({ elapsed: 1.04, duration: 10, requests: 120, errors: 2, rps: 119.6, p99: 8.5 }),
    ).toBe('[1.0/10 s] 120 requests, 120 req/s, p99 8.5 ms, 2 errors');
    expect(progressLine({ elapsed: 3, limit: 500, requests: 120, errors: 0, rps: 40, p99: 1 })).toBe(
      '[120/500 req] 120 requests, 40 req/s, p99 1 ms, 0 errors',
    );
  });
});

describe('pickWeighted', () => {
  const mix = [
    ['a', 50],
    ['b', 30],
    ['c', 20],
  ] as const;
  it('follows the cumulative weights', () => {
    expect(pickWeighted(mix, 0)).toBe('a');
    expect(pickWeighted(mix, 0.49)).toBe('a');
    expect(pickWeighted(mix, 0.5)).toBe('b');
    expect(pickWeighted(mix, 0.79)).toBe('b');
    expect(pickWeighted(mix, 0.8)).toBe('c');
    expect(pickWeighted(mix, 0.999)).toBe('c');
  });
});

describe('the benchmark report', () => {
  const lr = (rps: number) => ({
    requests: rps * 10,
    errors: 0,
    seconds: 10,
    rps,
    p50: 1,
    p90: 2,
    p99: 3,
    max: 4,
  });
  const t = (mibPerSecond: number) => ({ bytes: 2 ** 30, seconds: 1024 / mibPerSecond, mibPerSecond });
  const results: SuiteResults = {
    machine: testMachine,
    settings: testSettings(),
    loadAverage: { before: [0.2, 0.3, 0.4], after: [1.5, 0.8, 0.5] },
    small: {
      profileGetStack: lr(700),
      profileGetDirect: lr(1000),
      profilePutStack: { ...lr(300), statuses: { '200': 2990, '409': 10 } },
      profilePutDirect: lr(600),
      fileGetStack: lr(650),
      fileGetDirect: lr(1000),
      filePutStack: lr(200),
      filePutDirect: lr(500),
    },
    echo: { brokerEcho: lr(9000), natsEcho: lr(10000) },
    large: { uploadStack: t(100), uploadDirect: t(150), downloadStack: t(60), downloadDirect: t(200) },
    rss: {
      beforeLarge: { api: 90, broker: 70, workers: [80, 81] },
      upload: { api: 120, broker: 60, workers: [210, 90] },
      download: { api: 100, broker: 50, workers: [90, 90] },
    },
    scaling: [1, 2, 4].map((workers) => ({
      workers,
      requests: 100,
      errors: 0,
      rps: workers === 1 ? 25 : 45,
      p50: 300,
      p90: 400,
      p99: 500,
      max: 600,
      requestsByWorkerPid: {},
    })),
  };

  it('checks each goal against its ratio', () => {
    const goals = evaluateGoals(results);
    expect(goals.map((g) => [g.measured, g.met])).toEqual([
      [0.65, false], // 4 KiB GET: issue 14 wants 0.8×
      [0.4, false],
      [0.7, false], // profile GET
      [0.5, false], // profile PUT
      [0.9, false],
      [1.8, true],
      [0.67, false], // 1 GiB: issue 14 wants 0.8×
      [0.3, false],
      [210, false],
      [100, true],
      // the file-processing phase did not run
      [undefined, undefined],
      [undefined, undefined],
      // no hot GET row, no growth phase
      ...Array.from({ length: 6 }, () => [undefined, undefined]),
    ]);
  });

  it('leaves goals of phases that did not run open', () => {
    const goals = evaluateGoals({ ...results, small: undefined, rss: undefined });
    expect(goals[0]).toMatchObject({ measured: undefined, met: undefined });
    expect(goals[8]).toMatchObject({ measured: undefined, met: undefined });
    expect(largestRss({ workers: [] })).toBeUndefined();
  });

  it('renders every table with its ratio', () => {
    const text = renderReport(results, evaluateGoals(results));
    expect(text).toContain('2 cores (test cpu), 8 GiB');
    expect(text).toContain('before 0.20 / 0.30 / 0.40, after 1.50 / 0.80 / 0.50');
    expect(text).toMatch(/^\| 4 KiB file GET \| 650 \|.*\| 0\.65× \|$/m);
    expect(text).toContain('profilePutStack answers other than 2xx: 409 ×10');
    expect(text).toMatch(/^\| broker \/ NATS \| 0\.90× \|/m);
    expect(text).toMatch(/^\| download \| 60 MiB\/s \|.*\| 0\.30× \|$/m);
    expect(text).toContain('peak RSS during the upload: api 120, broker 60, workers 210 / 90 MiB');
    expect(text).toMatch(/^\| 2 \| 45 \|.*\| 1\.80× \|$/m);
    expect(text).toMatch(/^\| processing, 2 workers \/ 1 worker \| 1\.8× \| ≥ 1\.6× \| met \|$/m);
    expect(text).toMatch(/upload \| 210 MiB \| ≤ 128 MiB \| missed \|$/m);
    expect(text).toMatch(/download \| 100 MiB \| ≤ 128 MiB \| met \|$/m);
  });
});
