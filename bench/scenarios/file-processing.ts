/**
 * File processing at a given worker count: a fresh user uploads the generated files (a few connections),
 * and the time runs from the first upload until every file is processed (after an untimed warm-up batch). Progress is read from the
 * workers' job counters (cheap: one /metrics per worker); once they add up, each file's `?metadata` is
 * read to confirm its `processing.state` is final (done or failed), and any still pending are polled.
 *
 * And the interactive side: 4 KiB file GETs at a few connections while nothing is processed, then while
 * a batch of files is being processed (after its uploads, so only processing competes with them).
 */
import { connect } from 'nats';
import { processingBacklog } from '../../worker/processing/processing-lanes.ts';
import { httpLoad } from '../http-load.ts';
import { authHeader, inBatches, type LoadUser, runPrefix, signUp } from '../load/accounts.ts';
import type { CorpusFile } from '../processing-corpus.ts';
import { countersSince, type JobCounters, NO_JOBS, parseJobCounters } from '../processing-counters.ts';
import type { FileProcessingRun, InteractiveUnderProcessing } from '../results-types.ts';

export interface ProcessingStackView {
  apiUrl: string;
  natsUrl: string;
  /** The /metrics address of every running worker. */
  workerMetricsUrls: () => string[];
  log: (line: string) => void;
}

const POLL_MS = 250;
const WARM_UP_FILES = 20;
const DONE_TIMEOUT_MS = 30 * 60_000;
const round2 = (n: number) => Math.round(n * 100) / 100;

async function counters(urls: string[]): Promise<JobCounters[]> {
  return Promise.all(
    urls.map(async (url) => {
      const res = await fetch(url).catch(() => undefined);
      if (res?.ok !== true) return NO_JOBS;
      return parseJobCounters(await res.text());
    }),
  );
}

/** Waits until the processing consumer has nothing waiting nor in flight (earlier phases' jobs). */
export async function waitProcessingIdle(view: ProcessingStackView, timeoutMs = DONE_TIMEOUT_MS) {
  const nc = await connect({ servers: view.natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    const until = Date.now() + timeoutMs;
    let logged = 0;
    for (;;) {
      const backlog = await processingBacklog(jsm);
      if (backlog === 0) return;
      if (Date.now() > until) throw new Error(`processing backlog of ${backlog} jobs did not drain`);
      if (Date.now() - logged > 10_000) {
        view.log(`waiting for ${backlog} earlier processing jobs to finish`);
        logged = Date.now();
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await nc.close();
  }
}

type ProcessingState = 'pending' | 'done' | 'failed';

async function stateOf(view: ProcessingStackView, user: LoadUser, name: string): Promise<ProcessingState> {
  const res = await fetch(`${view.apiUrl}/v1/users/${user.name}/files/${name}?metadata`, {
    headers: authHeader(user.token),
  });
  const body = (await res.json()) as { processing?: { state?: ProcessingState } };
  if (!res.ok) throw new Error(`metadata of ${name}: ${res.status} ${JSON.stringify(body)}`);
  return body.processing?.state ?? 'pending';
}

interface Batch {
  user: LoadUser;
  started: number;
  uploaded: number;
  before: JobCounters[];
}

async function uploadBatch(
  view: ProcessingStackView,
  files: CorpusFile[],
  connections: number,
  label: string,
): Promise<Batch> {
  const user = await signUp(view.apiUrl, `${runPrefix()}-${label}`, { firstName: 'Bench' });
  const before = await counters(view.workerMetricsUrls());
  const started = performance.now();
  await inBatches(files.length, connections, async (i) => {
    const file = files[i] as CorpusFile;
    await user.client.files.put(user.name, file.name, Buffer.from(file.bytes), {
      contentType: file.contentType,
    });
  });
  return { user, started, uploaded: performance.now(), before };
}

/** Resolves when every file of the batch is processed: when, the jobs counted, and how many failed. */
async function processed(view: ProcessingStackView, batch: Batch, files: CorpusFile[]) {
  const until = Date.now() + DONE_TIMEOUT_MS;
  let open = files.map((f) => f.name);
  let failed = 0;
  let jobs = NO_JOBS;
  let finishedAt = 0;
  let logged = Date.now();
  while (open.length > 0) {
    if (Date.now() > until) throw new Error(`${open.length} files still not processed`);
    jobs = countersSince(batch.before, await counters(view.workerMetricsUrls()));
    if (Date.now() - logged > 15_000) {
      view.log(`  ${jobs.finished} of ${files.length} jobs finished`);
      logged = Date.now();
    }
    if (jobs.finished < files.length) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    finishedAt = performance.now();
    const states = new Map<string, ProcessingState>();
    await inBatches(open.length, 8, async (i) => {
      const name = open[i] as string;
      states.set(name, await stateOf(view, batch.user, name));
    });
    failed += [...states.values()].filter((s) => s === 'failed').length;
    open = open.filter((name) => states.get(name) === 'pending');
    if (open.length > 0) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { finishedAt, jobs, failed };
}

export async function processFilesAt(
  view: ProcessingStackView,
  workers: number,
  files: CorpusFile[],
  uploadConnections: number,
): Promise<FileProcessingRun> {
  await waitProcessingIdle(view);
  // Untimed: every worker's processing thread loads sharp and pdf.js on its first job (about a second).
  const warm = files.slice(0, WARM_UP_FILES);
  view.log(`file processing with ${workers} workers: warming up with ${warm.length} files`);
  const warmBatch = await uploadBatch(view, warm, uploadConnections, `warm${workers}`);
  await processed(view, warmBatch, warm);
  await warmBatch.user.client.users.delete(warmBatch.user.name).catch(() => undefined);
  await waitProcessingIdle(view);
  view.log(`file processing with ${workers} workers: uploading ${files.length} files`);
  const batch = await uploadBatch(view, files, uploadConnections, `proc${workers}`);
  const done = await processed(view, batch, files);
  await batch.user.client.users.delete(batch.user.name).catch(() => undefined);
  const seconds = (done.finishedAt - batch.started) / 1000;
  const bytes = files.reduce((sum, f) => sum + f.bytes.length, 0);
  return {
    workers,
    files: files.length,
    mib: round2(bytes / 2 ** 20),
    uploadSeconds: round2((batch.uploaded - batch.started) / 1000),
    seconds: round2(seconds),
    filesPerSecond: round2(files.length / seconds),
    failed: done.failed,
    jobs: done.jobs.jobs,
    retries: done.jobs.retries,
    meanJobMs: done.jobs.jobs > 0 ? Math.round((done.jobs.jobSeconds / done.jobs.jobs) * 1000) : 0,
  };
}

const SMALL_FILES = 16;

export async function interactiveUnderProcessing(
  view: ProcessingStackView,
  workers: number,
  files: CorpusFile[],
  o: { connections: number; seconds: number; uploadConnections: number },
): Promise<InteractiveUnderProcessing> {
  const reader = await signUp(view.apiUrl, `${runPrefix()}-reader`, { firstName: 'Bench' });
  const small = Buffer.alloc(4096, 7);
  await inBatches(SMALL_FILES, 4, async (i) => {
    await reader.client.files.put(reader.name, `small/f-${i}.bin`, small);
  });
  const paths = Array.from(
    { length: SMALL_FILES },
    (_, i) => `/v1/users/${reader.name}/files/small/f-${i}.bin`,
  );
  const load = () =>
    httpLoad({
      url: view.apiUrl,
      connections: o.connections,
      seconds: o.seconds,
      method: 'GET',
      paths,
      headersFor: () => authHeader(reader.token),
    });
  await waitProcessingIdle(view);
  view.log(`small-file GET, ${o.connections} connections, ${o.seconds} s: idle`);
  await httpLoad({
    url: view.apiUrl,
    connections: o.connections,
    seconds: 2,
    method: 'GET',
    paths,
    headersFor: () => authHeader(reader.token),
  });
  const idle = await load();
  view.log(`uploading ${files.length} files, then small-file GET while they are processed`);
  const batch = await uploadBatch(view, files, o.uploadConnections, `busy${workers}`);
  const busy = await load();
  const after = countersSince(batch.before, await counters(view.workerMetricsUrls()));
  const finishedDuringLoad = after.finished;
  await processed(view, batch, files);
  await batch.user.client.users.delete(batch.user.name).catch(() => undefined);
  await reader.client.users.delete(reader.name).catch(() => undefined);
  return {
    workers,
    connections: o.connections,
    seconds: o.seconds,
    idle,
    busy,
    busyThroughout: finishedDuringLoad < files.length,
    processedBeforeLoadEnded: finishedDuringLoad,
  };
}
