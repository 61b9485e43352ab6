/** The shape of a benchmark run's results (bench/results/<date>.json). */
import type { LoadResult } from './closed-loop.ts';
import type { HttpLoadResult } from './http-load.ts';
import type { TransferResult } from './scenarios/large-transfer.ts';

/** Files of the hot small-file GET row (`hotGetStack`, `hotGetDirect`), all in one pod. */
export const HOT_FILES = 200;

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

/** Filling the growth phase's pod up to one size, through the api. */
export interface GrowthFill {
  /** Files created (201) by this step. */
  added: number;
  /** From the first PUT to the last answer. */
  seconds: number;
  filesPerSecond: number;
  /** PUTs sent again after a 429, a 503 or no answer. */
  retries: number;
  /** Final answers other than 201, by status (`0`: no answer). */
  failures: Record<string, number>;
  /**
   * After the fill, until the processing backlog (a job per created file) was empty; not in `seconds`.
   * Null with `--processing off` (no job ran).
   */
  processingDrainSeconds: number | null;
}

/** Listing the whole folder page after page (`fullPageLimit` entries a page). */
export interface GrowthListing {
  pages: number;
  /** Entries listed: the files the pod holds. */
  files: number;
  seconds: number;
  msPer1000: number;
  /** Full listings made (the median one is reported). */
  runs: number;
}

/** One size of the growth phase: the pod holds `files` files when it is measured. */
export interface GrowthStep {
  files: number;
  fill: GrowthFill;
  /** The first page (api default size), one connection. */
  firstPage: HttpLoadResult;
  listing: GrowthListing;
  /** 4 KiB GET and replace over files drawn from the whole pod; creates of new names (`created` 201s). */
  get: HttpLoadResult;
  replace: HttpLoadResult;
  create: HttpLoadResult & { created: number };
}

export interface GrowthResults {
  owner: string;
  connections: number;
  seconds: number;
  firstPageLimit: number;
  fullPageLimit: number;
  steps: GrowthStep[];
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
    /** With the growth phase. */
    growthSizes?: number[];
    /** `--processing off`: the workers ran no processing job. */
    processing?: 'off';
    /** How the stack ran (`--run`): compiled JavaScript as in the image, or the sources through tsx. */
    run?: 'compiled' | 'sources';
  };
  /** Load average (1, 5, 15 min) before and after the run: other work on the machine skews figures. */
  loadAverage: { before: number[]; after?: number[] };
  /** `<op>Stack` (with HTTP statuses) and `<op>Direct`; `hotGet*`: the same HOT_FILES files over and over. */
  small?: Record<string, LoadResult & { statuses?: Record<string, number> }>;
  echo?: Record<string, LoadResult>;
  large?: Record<string, TransferResult>;
  /** Peak RSS (MiB): over the phases before the large transfers, then during each of them alone. */
  rss?: { beforeLarge: RssSet; upload?: RssSet; download?: RssSet };
  scaling?: ScalingRun[];
  /** The `processing-files` phase. */
  fileProcessing?: { runs: FileProcessingRun[]; interactive?: InteractiveUnderProcessing };
  /** The `growth` phase: one pod at each of `--growth-sizes` files. */
  growth?: GrowthResults;
}
