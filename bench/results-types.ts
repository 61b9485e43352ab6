/** The shape of a benchmark run's results (bench/results/<date>.json). */
import type { LoadResult } from './closed-loop.ts';
import type { HttpLoadResult } from './http-load.ts';
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

/** One worker count of the file-processing phase: generated images and PDFs uploaded, then processed. */
export interface FileProcessingRun {
  workers: number;
  files: number;
  mib: number;
  /** From the first upload to the last upload's answer. */
  uploadSeconds: number;
  /** From the first upload until every file's processing state was final. */
  seconds: number;
  filesPerSecond: number;
  /** Files whose processing state ended `failed` (none expected). */
  failed: number;
  /** Jobs run (a retried job counts each attempt), retries among them, and the mean job duration. */
  jobs: number;
  retries: number;
  meanJobMs: number;
}

/** Small-file GET latency with processing idle, and while a batch of files is being processed. */
export interface InteractiveUnderProcessing {
  workers: number;
  connections: number;
  seconds: number;
  idle: HttpLoadResult;
  busy: HttpLoadResult;
  /** False when the batch was processed before the busy load ended (the figure then flatters). */
  busyThroughout: boolean;
  processedBeforeLoadEnded: number;
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
  /** The `processing-files` phase. */
  fileProcessing?: { runs: FileProcessingRun[]; interactive?: InteractiveUnderProcessing };
}
