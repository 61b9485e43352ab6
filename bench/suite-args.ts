/**
 * `npm run bench` options, parsed and bounded without side effects. Defaults keep the whole suite to a
 * few minutes on 2 cores; every duration can be raised for steadier figures.
 */
import { parseArgs } from 'node:util';

export const PHASES = ['small', 'echo', 'large', 'scaling', 'processing-files', 'growth'] as const;
export type Phase = (typeof PHASES)[number];
/** Phases run when `--phases` is not given (processing-files and growth take minutes more: named on purpose). */
export const DEFAULT_PHASES: Phase[] = ['small', 'echo', 'large', 'scaling'];
/** Phases that go through the worker counts; the others run once, at `--workers`. */
const COUNTED_PHASES: readonly Phase[] = ['scaling', 'processing-files'];

export interface SuiteArgs {
  /** Seconds per measured run (small operations, echo, each worker count). */
  seconds: number;
  /** Concurrent connections of the small operations. */
  connections: number;
  /** Users signed up for the small operations. */
  users: number;
  /** Workers for the small operations, the echo and the large transfer. */
  workers: number;
  echoConnections: number;
  echoBytes: number;
  largeMiB: number;
  processingMiB: number;
  processingConnections: number;
  /** Worker counts of the scaling and processing-files phases, ascending. */
  workerCounts: number[];
  /** Generated images and PDFs uploaded per worker count (processing-files). */
  files: number;
  /** Connections that upload them. */
  uploadConnections: number;
  /** Connections of the small-file GETs measured idle and while processing (at `--workers`). */
  interactiveConnections: number;
  phases: Phase[];
  /** Files in the one pod of the growth phase, ascending: each size is measured after filling up to it. */
  growthSizes: number[];
  /** Minutes all the growth phase's fills together may take; past them the pod grows no further. */
  growthFillMinutes: number;
  /**
   * False with `--processing off`: the workers run no processing job (PROCESSING_CONCURRENCY=0), so a
   * growth run is not held up by one pod's backlog of a job per created file (refused with
   * processing-files, which measures processing).
   */
  processing: boolean;
  /** Where child processes write --cpu-prof profiles; undefined: no profiling. */
  cpuProfDir?: string;
  /**
   * `compiled` (default): the stack runs the JavaScript that `tsc -p tsconfig.build.json` makes, as the
   * image does (`node dist/<process>/main.js`); `sources`: through tsx, as `npm start` and the tests do,
   * which costs each process about 36 MiB more (tsx's loader thread) and loads slower.
   */
  run: 'compiled' | 'sources';
}

/** The growth phase's sizes when `--growth-sizes` is not given (issue 14: 1k, 10k and 50k files). */
export const DEFAULT_GROWTH_SIZES = [1000, 10_000, 50_000];
/** The largest pod the growth phase fills (the bench stack's file quota is raised above it). */
export const MAX_GROWTH_SIZE = 200_000;

export class SuiteArgsError extends Error {
  override name = 'SuiteArgsError';
}

function whole(option: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SuiteArgsError(`--${option} takes a whole number from ${min} to ${max}`);
  }
  return n;
}

export function parseSuiteArgs(argv: string[]): SuiteArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        seconds: { type: 'string', default: '10' },
        connections: { type: 'string', default: '32' },
        users: { type: 'string', default: '100' },
        workers: { type: 'string', default: '2' },
        'echo-connections': { type: 'string', default: '64' },
        'echo-bytes': { type: 'string', default: '1024' },
        'large-mib': { type: 'string', default: '1024' },
        'processing-mib': { type: 'string', default: '8' },
        'processing-connections': { type: 'string', default: '8' },
        'worker-counts': { type: 'string', default: '1,2,4' },
        files: { type: 'string', default: '500' },
        'upload-connections': { type: 'string', default: '4' },
        'interactive-connections': { type: 'string', default: '4' },
        phases: { type: 'string', default: DEFAULT_PHASES.join(',') },
        'growth-sizes': { type: 'string', default: DEFAULT_GROWTH_SIZES.join(',') },
        'growth-fill-minutes': { type: 'string', default: '30' },
        processing: { type: 'string', default: 'on' },
        'cpu-prof': { type: 'string' },
        run: { type: 'string', default: 'compiled' },
      },
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new SuiteArgsError((err as Error).message);
  }
  const v = (name: string) => values[name] as string;
  const workerCounts = [
    ...new Set(
      v('worker-counts')
        .split(',')
        .map((s) => whole('worker-counts', s.trim(), 1, 16)),
    ),
  ];
  workerCounts.sort((a, b) => a - b);
  const growthSizes = [
    ...new Set(
      v('growth-sizes')
        .split(',')
        .map((s) => whole('growth-sizes', s.trim(), 1, MAX_GROWTH_SIZE)),
    ),
  ];
  growthSizes.sort((a, b) => a - b);
  const phases = v('phases')
    .split(',')
    .map((s) => s.trim());
  for (const phase of phases) {
    if (!(PHASES as readonly string[]).includes(phase)) {
      throw new SuiteArgsError(`unknown phase ${phase}: one of ${PHASES.join(', ')}`);
    }
  }
  if (v('processing') !== 'on' && v('processing') !== 'off') {
    throw new SuiteArgsError('--processing takes on or off');
  }
  const processing = v('processing') === 'on';
  if (v('run') !== 'compiled' && v('run') !== 'sources') {
    throw new SuiteArgsError('--run takes compiled or sources');
  }
  if (!processing && phases.includes('processing-files')) {
    throw new SuiteArgsError('--processing off leaves nothing for the processing-files phase to measure');
  }
  return {
    seconds: whole('seconds', v('seconds'), 1, 600),
    connections: whole('connections', v('connections'), 1, 1024),
    users: whole('users', v('users'), 1, 10_000),
    workers: whole('workers', v('workers'), 1, 16),
    echoConnections: whole('echo-connections', v('echo-connections'), 1, 1024),
    echoBytes: whole('echo-bytes', v('echo-bytes'), 1, 1024 * 1024),
    largeMiB: whole('large-mib', v('large-mib'), 1, 8192),
    processingMiB: whole('processing-mib', v('processing-mib'), 1, 64),
    processingConnections: whole('processing-connections', v('processing-connections'), 1, 256),
    workerCounts,
    files: whole('files', v('files'), 1, 10_000),
    uploadConnections: whole('upload-connections', v('upload-connections'), 1, 64),
    interactiveConnections: whole('interactive-connections', v('interactive-connections'), 1, 256),
    phases: phases as Phase[],
    growthSizes,
    growthFillMinutes: whole('growth-fill-minutes', v('growth-fill-minutes'), 1, 1440),
    processing,
    run: v('run') as 'compiled' | 'sources',
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  };
}

/**
 * The worker counts the stack goes through, ascending: the counts of the scaling and processing-files
 * phases and the main phases' count (`--workers`; processing-files measures its interactive side there).
 */
export function workerSchedule(args: Pick<SuiteArgs, 'workers' | 'workerCounts' | 'phases'>): number[] {
  const main = args.phases.some((p) => p !== 'scaling') ? [args.workers] : [];
  const counted = args.phases.some((p) => COUNTED_PHASES.includes(p)) ? args.workerCounts : [];
  return [...new Set([...counted, ...main])].sort((a, b) => a - b);
}
