/** The file-processing benchmark's pure parts: the workers' job counters, the corpus mix, goals, tables. */
import { describe, expect, it } from 'vitest';
import { evaluateGoals } from '../../bench/goals.ts';
import { corpusKind, corpusMix } from '../../bench/processing-corpus.ts';
import { countersSince, NO_JOBS, parseJobCounters } from '../../bench/processing-counters.ts';
import { renderReport } from '../../bench/report.ts';
import type {
  FileProcessingRun,
  InteractiveUnderProcessing,
  SuiteResults,
} from '../../bench/results-types.ts';
import { testMachine, testSettings } from '../helpers/bench-results.ts';

const METRICS = `# HELP podstore_worker_processing_jobs_total File-processing jobs by result
# TYPE podstore_worker_processing_jobs_total counter
podstore_worker_processing_jobs_total{result="processed"} 40
podstore_worker_processing_jobs_total{result="indexed"} 3
podstore_worker_processing_jobs_total{result="removed"} 2
podstore_worker_processing_jobs_total{result="account-gone"} 1
podstore_worker_processing_jobs_total{result="gave-up"} 1
podstore_worker_processing_jobs_total{result="retry"} 5
podstore_worker_other_total{result="processed"} 1000
# TYPE podstore_worker_processing_seconds histogram
podstore_worker_processing_seconds_bucket{le="0.5"} 30
podstore_worker_processing_seconds_sum 26.5
podstore_worker_processing_seconds_count 52
`;

describe('the workers’ job counters', () => {
  it('counts the jobs that ended for good, apart from retries, and the job time', () => {
    expect(parseJobCounters(METRICS)).toEqual({ finished: 47, retries: 5, jobSeconds: 26.5, jobs: 52 });
  });

  it('counts 0 for a worker that has run no job yet', () => {
    expect(parseJobCounters('# nothing yet\nprocess_cpu_seconds_total 3\n')).toEqual(NO_JOBS);
  });

  it('counts the difference worker by worker, a worker added since starting at 0', () => {
    const before = [parseJobCounters(METRICS)];
    const now = [
      { finished: 147, retries: 5, jobSeconds: 76.5, jobs: 152 },
      { finished: 20, retries: 1, jobSeconds: 10, jobs: 21 },
    ];
    expect(countersSince(before, now)).toEqual({ finished: 120, retries: 1, jobSeconds: 60, jobs: 121 });
  });
});

describe('the corpus', () => {
  it('is a fixed mix of JPEGs, PNGs and PDFs', () => {
    expect(corpusMix(500)).toEqual({ jpeg: 200, png: 150, pdf: 150 });
    expect([0, 1, 2].map(corpusKind)).toEqual(['jpeg', 'pdf', 'png']);
  });
});

describe('file-processing goals and tables', () => {
  const run = (workers: number, filesPerSecond: number): FileProcessingRun => ({
    workers,
    files: 500,
    mib: 90.5,
    uploadSeconds: 20,
    seconds: Math.round((500 / filesPerSecond) * 100) / 100,
    filesPerSecond,
    failed: 0,
    jobs: 500,
    retries: 0,
    meanJobMs: 300,
  });
  const load = (rps: number, p99: number) => ({
    requests: rps * 10,
    errors: 0,
    non2xx: 0,
    statuses: { '200': rps * 10 },
    seconds: 10,
    rps,
    p50: 5,
    p90: 10,
    p99,
    max: p99 * 2,
  });
  const interactive: InteractiveUnderProcessing = {
    workers: 2,
    connections: 4,
    seconds: 10,
    idle: load(400, 20),
    busy: load(250, 30),
    busyThroughout: true,
    processedBeforeLoadEnded: 120,
  };
  const results: SuiteResults = {
    machine: testMachine,
    settings: testSettings(),
    loadAverage: { before: [1, 1, 1] },
    fileProcessing: {
      runs: [run(1, 2), run(2, 3.6), run(4, 3.8)],
      interactive,
    },
  };
  const fileGoals = (r: SuiteResults) =>
    evaluateGoals(r).filter((g) => /file processing|while processing/.test(g.goal));

  it('compares 2 workers with 1, and the busy p99 with the idle one (at most 1.5×)', () => {
    expect(fileGoals(results).map((g) => [g.measured, g.target, g.met])).toEqual([
      [1.8, 1.7, true],
      [1.5, 1.5, true],
    ]);
    const slow: SuiteResults = {
      ...results,
      fileProcessing: {
        runs: [run(1, 2), run(2, 3)],
        interactive: { ...interactive, busy: load(100, 31) },
      },
    };
    expect(fileGoals(slow).map((g) => [g.measured, g.met])).toEqual([
      [1.5, false],
      [1.55, false],
    ]);
  });

  it('leaves the goals open when the phase did not run', () => {
    expect(fileGoals({ ...results, fileProcessing: undefined }).map((g) => g.met)).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('renders the runs, the latency idle and busy, and the goals', () => {
    const text = renderReport(results, evaluateGoals(results));
    expect(text).toContain('File processing: 500 generated images and PDFs (90.5 MiB)');
    expect(text).toMatch(/^\| 2 \| 3\.6 \| 138\.89 \| 20 \| 300 \| 500 \| 0 \| 0 \| 1\.80× \|$/m);
    expect(text).toMatch(/^\| idle \| 400 \| 5 \| 10 \| 20 \| 0 \|$/m);
    expect(text).toMatch(/^\| busy \/ idle \| 0\.63× \|.*\| 1\.50× \| \|$/m);
    expect(text).toMatch(/2 workers \/ 1 worker \| 1\.8× \| ≥ 1\.7× \| met \|$/m);
    expect(text).toMatch(/^\| small-file GET p99 while processing \/ idle \| 1\.5× \| ≤ 1\.5× \| met \|$/m);
    expect(text).not.toContain('warning');
    const early = renderReport(
      {
        ...results,
        fileProcessing: {
          runs: [],
          interactive: { ...interactive, busyThroughout: false },
        },
      },
      [],
    );
    expect(early).toContain('warning: the batch was processed before the busy load ended');
  });
});
