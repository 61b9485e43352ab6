/**
 * `npm run bench` options, parsed and bounded without side effects. Defaults keep the whole suite to a
 * few minutes on 2 cores; every duration can be raised for steadier figures.
 */
import { parseArgs } from 'node:util';

export const PHASES = ['small', 'echo', 'large', 'scaling'] as const;
export type Phase = (typeof PHASES)[number];

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
  /** Worker counts of the scaling phase, ascending. */
  workerCounts: number[];
  phases: Phase[];
  /** Where child processes write --cpu-prof profiles; undefined: no profiling. */
  cpuProfDir?: string;
}

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
        phases: { type: 'string', default: PHASES.join(',') },
        'cpu-prof': { type: 'string' },
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
  const phases = v('phases')
    .split(',')
    .map((s) => s.trim());
  for (const phase of phases) {
    if (!(PHASES as readonly string[]).includes(phase)) {
      throw new SuiteArgsError(`unknown phase ${phase}: one of ${PHASES.join(', ')}`);
    }
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
    phases: phases as Phase[],
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  };
}

/** The worker counts the stack goes through, ascending: the scaling counts and the main phases' count. */
export function workerSchedule(args: Pick<SuiteArgs, 'workers' | 'workerCounts' | 'phases'>): number[] {
  const main = args.phases.some((p) => p !== 'scaling') ? [args.workers] : [];
  const scaling = args.phases.includes('scaling') ? args.workerCounts : [];
  return [...new Set([...scaling, ...main])].sort((a, b) => a - b);
}
