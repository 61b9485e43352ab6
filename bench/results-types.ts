/** The shape of a benchmark run's results (bench/results/<date>.json). */
import type { LoadResult } from './closed-loop.ts';
import type { TransferResult } from './scenarios/large-transfer.ts';

export interface RssSet {
  api?: number | undefined;
  broker?: number | undefined;
  workers: (number | undefined)[];
}

export interface ScalingRun {
  workers: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** How the broker spread the requests over the worker processes. */
  requestsByWorkerPid: Record<string, number>;
}

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
}

export interface SuiteResults {
  machine: Machine;
  settings: {
    workers: number;
    connections: number;
    seconds: number;
    users: number;
    largeMiB: number;
    echoBytes: number;
    echoConnections: number;
    processingMiB: number;
    processingConnections: number;
    workerCounts: number[];
  };
  /** Load average (1, 5, 15 min) before and after the run: other work on the machine skews figures. */
  loadAverage: { before: number[]; after?: number[] };
  /** `<op>Stack` (with HTTP statuses) and `<op>Direct`. */
  small?: Record<string, LoadResult & { statuses?: Record<string, number> }>;
  echo?: Record<string, LoadResult>;
  large?: Record<string, TransferResult>;
  /** Peak RSS (MiB): over the phases before the large transfers, then during each of them alone. */
  rss?: { beforeLarge: RssSet; upload?: RssSet; download?: RssSet };
  scaling?: ScalingRun[];
}
