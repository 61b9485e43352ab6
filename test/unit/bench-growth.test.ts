/** The growth phase's pure parts: fill steps, the sample of files, and the flat / linear verdicts. */
import { describe, expect, it } from 'vitest';
import { evaluateGoals, GROWTH_LIMIT, growthRatio } from '../../bench/goals.ts';
import type { HttpLoadResult } from '../../bench/http-load.ts';
import { renderReport } from '../../bench/report.ts';
import type { GrowthStep, SuiteResults } from '../../bench/results-types.ts';
import { fillCount, median, sampleIndexes } from '../../bench/scenarios/growth.ts';
import { testMachine, testSettings } from '../helpers/bench-results.ts';

const load = (p50: number, rps = 100): HttpLoadResult => ({
  requests: rps * 10,
  errors: 0,
  seconds: 10,
  rps,
  p50,
  p90: p50 * 2,
  p99: p50 * 3,
  max: p50 * 4,
  non2xx: 0,
  statuses: { '200': rps * 10 },
});

const step = (
  files: number,
  p: { get: number; replace: number; create: number; page: number; per1000: number },
) =>
  ({
    files,
    fill: {
      added: files,
      seconds: files / 50,
      filesPerSecond: 50,
      retries: 0,
      failures: {},
      processingDrainSeconds: 1,
    },
    firstPage: load(p.page, 8),
    listing: {
      pages: Math.ceil(files / 1000),
      files,
      seconds: (p.per1000 * files) / 1e6,
      msPer1000: p.per1000,
      runs: 1,
    },
    get: load(p.get),
    replace: load(p.replace),
    create: { ...load(p.create), created: 0 },
  }) satisfies GrowthStep;

const results = (steps: GrowthStep[]): SuiteResults => ({
  machine: testMachine,
  settings: testSettings({ growthSizes: steps.map((s) => s.files) }),
  loadAverage: { before: [0.1, 0.1, 0.1] },
  growth: {
    owner: 'load-x-growth',
    connections: 32,
    seconds: 10,
    firstPageLimit: 100,
    fullPageLimit: 1000,
    steps,
  },
});

describe('fill steps', () => {
  it('adds only what the pod lacks, never a negative count', () => {
    expect(fillCount(1000, 0)).toBe(1000);
    expect(fillCount(10_000, 1000)).toBe(9000);
    expect(fillCount(50_000, 10_420)).toBe(39_580);
    expect(fillCount(1000, 1200)).toBe(0);
  });
});

describe('sampleIndexes', () => {
  it('draws distinct indexes below n, all of them when asked for more', () => {
    const some = sampleIndexes(50_000, 100);
    expect(new Set(some).size).toBe(100);
    expect(some.every((i) => Number.isInteger(i) && i >= 0 && i < 50_000)).toBe(true);
    expect([...sampleIndexes(10, 50)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampleIndexes(0, 10)).toEqual([]);
  });
});

describe('median', () => {
  it('takes the middle run (the lower middle of an even count)', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([])).toBeNaN();
  });
});

describe('growth verdicts', () => {
  const small = step(1000, { get: 50, replace: 100, create: 300, page: 120, per1000: 1300 });
  const middle = step(10_000, { get: 99, replace: 99, create: 99, page: 99, per1000: 99 });

  it('compares the largest size with the smallest', () => {
    const large = step(50_000, { get: 60, replace: 160, create: 450, page: 200, per1000: 1900 });
    expect(growthRatio([small, middle, large], (s) => s.get.p50)).toBe(1.2);
    expect(growthRatio([small, middle, large], (s) => s.listing.msPer1000)).toBe(1.46);
    expect(growthRatio([small], (s) => s.get.p50)).toBeUndefined();
    expect(growthRatio(undefined, (s) => s.get.p50)).toBeUndefined();
  });

  it('says flat within 1.5× and linear when the time per 1,000 files holds', () => {
    expect(GROWTH_LIMIT).toBe(1.5);
    const large = step(50_000, { get: 75, replace: 151, create: 450, page: 300, per1000: 2000 });
    const goals = evaluateGoals(results([small, middle, large])).filter((g) => g.goal.startsWith('growth'));
    expect(goals.map((g) => [g.goal, g.measured, g.met])).toEqual([
      ['growth: 4 KiB GET p50, 50,000 / 1,000 files', 1.5, true],
      ['growth: 4 KiB replace (PUT) p50, 50,000 / 1,000 files', 1.51, false],
      ['growth: 4 KiB create (PUT) p50, 50,000 / 1,000 files', 1.5, true],
      ['growth: first listing page p50, 50,000 / 1,000 files', 2.5, false],
      ['growth: full listing, time per 1,000 files, 50,000 / 1,000 files', 1.54, false],
    ]);
    const text = renderReport(
      results([small, middle, large]),
      evaluateGoals(results([small, middle, large])),
    );
    expect(text).toMatch(
      /^\| growth: 4 KiB GET p50, 50,000 \/ 1,000 files \| 1\.5× \| ≤ 1\.5× \| met: flat \|$/m,
    );
    expect(text).toMatch(
      /time per 1,000 files, 50,000 \/ 1,000 files \| 1\.54× \| ≤ 1\.5× \| missed: worse than linear \|$/m,
    );
    expect(text).toMatch(/^\| 50,000 \| 50,000 \| 50 \| 100 \| 2000 \| 1\.54× \| 1 \|$/m);
    expect(text).toMatch(/^\| 10,000 \| 100 \| 99 \| 297 \| 0 \| 1\.98× \|$/m);
  });

  it('leaves the verdicts open without the phase or with one size', () => {
    const none = evaluateGoals({ ...results([]), growth: undefined }).filter((g) =>
      g.goal.startsWith('growth'),
    );
    expect(none).toHaveLength(5);
    expect(none.every((g) => g.measured === undefined && g.met === undefined)).toBe(true);
    expect(none[0]?.goal).toBe('growth: 4 KiB GET p50, largest / smallest pod');
    const one = evaluateGoals(results([small])).filter((g) => g.goal.startsWith('growth'));
    expect(one.every((g) => g.met === undefined)).toBe(true);
  });
});

describe('hot small-file GET', () => {
  it('is a row of the small table and a goal of at least 1.2× direct MinIO', () => {
    const r: SuiteResults = {
      ...results([]),
      growth: undefined,
      small: { hotGetStack: load(20, 600), hotGetDirect: load(15, 1000) },
    };
    const goals = evaluateGoals(r);
    const hot = goals.find((g) => g.goal.includes('hot files'));
    expect(hot).toMatchObject({ measured: 0.6, target: 1.2, kind: 'min', met: false });
    const text = renderReport(r, goals);
    expect(text).toMatch(
      /^\| 4 KiB file GET, hot \(200 files of one pod, closed loops\) \| 600 \|.*\| 0\.60× \|$/m,
    );
    expect(text).toMatch(
      /^\| 4 KiB GET of 200 hot files \(one pod\), full stack \/ direct MinIO \| 0\.6× \| ≥ 1\.2× \| missed \|$/m,
    );
  });
});
