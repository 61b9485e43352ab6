/**
 * `npm run bench [-- --seconds 10 --connections 32 --workers 2 --large-mib 1024 ...]` (bench/suite-args.ts)
 *
 * The standard suite, in one run on this machine, on loopback: real MinIO and nats-server, and the local
 * runner (broker, workers, api as processes). Each figure is measured beside its baseline in the same
 * run, so the cost of podstore is a ratio:
 *  - profile and 4 KiB file GET/PUT through the full stack vs the same object on MinIO directly;
 *  - the broker hop alone (`bench.echo` through the api's BrokerClient) vs NATS request-reply;
 *  - a large upload and download vs MinIO directly, with the peak RSS of every process;
 *  - the `processing` scenario with 1, 2 and 4 workers (workers are added to the running stack);
 *  - with `--phases processing-files`: generated images and PDFs processed with 1, 2 and 4 workers, and
 *    small-file GET latency idle and while processing (bench/scenarios/file-processing.ts);
 *  - with `--phases growth`: one pod filled to each of `--growth-sizes` files (1k, 10k, 50k), its 4 KiB
 *    GET, replace, create and folder listing measured at each size (bench/scenarios/growth.ts).
 * Prints the tables and the goals, writes bench/results/<date>.json and the scaling chart <date>.svg.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { freePort, freePortRange } from '../deploy/local/free-port.ts';
import { provisionBinaries as provision } from '../deploy/local/provision-binaries.ts';
import { startMinio, startNats } from '../deploy/local/servers.ts';
import { LocalStack } from '../deploy/local/stack.ts';

import { S3ObjectStore } from '../worker/storage/s3-store.ts';
import { scalingChart } from './chart.ts';
import { compileStack } from './compiled-stack.ts';
import { evaluateGoals } from './goals.ts';
import { authHeader, runPrefix, signUp } from './load/accounts.ts';
import { machineInfo } from './machine.ts';
import { peakRssMiB, resetPeakRss } from './peak-rss.ts';
import { listenerPid, untilQuiet } from './process-cpu.ts';
import { makeCorpus } from './processing-corpus.ts';
import { renderReport } from './report.ts';
import type { RssSet, SuiteResults } from './results-types.ts';
import { echoComparison } from './scenarios/broker-echo.ts';
import {
  interactiveUnderProcessing,
  type ProcessingStackView,
  processFilesAt,
  waitProcessingIdle,
} from './scenarios/file-processing.ts';
import { growth } from './scenarios/growth.ts';
import { largeTransfer } from './scenarios/large-transfer.ts';
import { smallOps } from './scenarios/small-ops.ts';
import { processingAt } from './scenarios/worker-scaling.ts';
import { MAX_GROWTH_SIZE, parseSuiteArgs, SuiteArgsError, workerSchedule } from './suite-args.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
let args: ReturnType<typeof parseSuiteArgs>;
try {
  args = parseSuiteArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof SuiteArgsError)) throw err;
  log(err.message);
  process.exit(2);
}
const schedule = workerSchedule(args);
const round2 = (n: number) => Math.round(n * 100) / 100;

const results: SuiteResults = {
  machine: machineInfo(),
  settings: {
    workers: args.workers,
    connections: args.connections,
    seconds: args.seconds,
    users: args.users,
    largeMiB: args.largeMiB,
    echoBytes: args.echoBytes,
    echoConnections: args.echoConnections,
    processingMiB: args.processingMiB,
    processingConnections: args.processingConnections,
    workerCounts: args.workerCounts,
    ...(args.phases.includes('growth') ? { growthSizes: args.growthSizes } : {}),
    ...(args.processing ? {} : { processing: 'off' as const }),
    run: args.run,
  },
  loadAverage: { before: loadavg().map(round2) },
};

const corpus = args.phases.includes('processing-files') ? await makeFiles() : [];

async function makeFiles() {
  const started = performance.now();
  log(`making ${args.files} images and PDFs`);
  const files = await makeCorpus(args.files);
  log(`made them in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return files;
}

await provision();
const minio = await startMinio();
const nats = await startNats({ jetstream: true });
const bucket = 'bench';
const cpuProfDir = args.cpuProfDir === undefined ? undefined : path.resolve(args.cpuProfDir);
if (cpuProfDir !== undefined) await mkdir(cpuProfDir, { recursive: true });
const stack = new LocalStack({
  workers: schedule[0] ?? 1,
  host: '127.0.0.1',
  apiPort: await freePort(),
  frontendPort: await freePort(),
  backendPort: await freePort(),
  brokerMetricsPort: 0,
  workerMetricsBasePort: await freePortRange(Math.max(...schedule, 1)),
  env: {
    MINIO_ENDPOINT: minio.endpoint,
    MINIO_ACCESS_KEY: minio.accessKey,
    MINIO_SECRET_KEY: minio.secretKey,
    MINIO_BUCKET: bucket,
    NATS_URL: nats.url,
    BENCH_ROUTES: 'true',
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    // The steady state: pods' homes answer from memory 5 s after the broker starts rather than after
    // the default two minutes (no worker is lost here, which is what that wait is for).
    BROKER_PLACEMENT_QUIET_MS: '5000',
    // Read leases on (decision 0009; off by default): an api answers owners' hot small-file reads.
    BROKER_READ_LEASE_MS: process.env.BROKER_READ_LEASE_MS ?? '1000',
    // The growth phase fills one pod with up to MAX_GROWTH_SIZE files, plus the creates it measures.
    QUOTA_DEFAULT_FILES: String(2 * MAX_GROWTH_SIZE),
    ...(args.processing ? {} : { PROCESSING_CONCURRENCY: '0' }),
    // Profiles are written when each process exits (after the SIGTERM that ends the run).
    ...(cpuProfDir === undefined ? {} : { NODE_EXTRA_ARGS: `--cpu-prof --cpu-prof-dir=${cpuProfDir}` }),
  },
  stdio: 'pipe',
  ...(args.run === 'compiled' ? { compiledDir: await compileStack(log) } : {}),
});
const store = new S3ObjectStore({
  endpoint: minio.endpoint,
  accessKey: minio.accessKey,
  secretKey: minio.secretKey,
  bucket,
  region: 'us-east-1',
});
const processingView: ProcessingStackView = {
  apiUrl: stack.apiUrl,
  natsUrl: nats.url,
  workerMetricsUrls: () =>
    stack.workers.map(
      (_, i) => `http://${stack.options.host}:${stack.options.workerMetricsBasePort + i}/metrics`,
    ),
  log,
};
const fileProcessing = () => {
  results.fileProcessing ??= { runs: [] };
  return results.fileProcessing;
};
const processes = () => [stack.api, stack.broker, ...stack.workers];
/** Longest wait for the stack to finish the background work of a phase before the next measurement. */
const SETTLE_MAX_MS = 120_000;
/** Waits until every process of the stack, MinIO and NATS included, is quiet again (process-cpu.ts). */
async function settle(): Promise<void> {
  const servers = [listenerPid(minio.port), listenerPid(nats.port)];
  const { waitedMs, quiet } = await untilQuiet(
    () => [...processes().flatMap((p) => (p?.child.pid === undefined ? [] : [p.child.pid])), ...servers],
    { maxMs: SETTLE_MAX_MS },
  );
  if (waitedMs > 2000 || !quiet)
    log(
      `  waited ${(waitedMs / 1000).toFixed(1)} s for the stack's background work${quiet ? '' : ', still busy'}`,
    );
}
const peaks = async (): Promise<RssSet> => ({
  api: await peakRssMiB(stack.api?.child.pid),
  broker: await peakRssMiB(stack.broker?.child.pid),
  workers: await Promise.all(stack.workers.map((w) => peakRssMiB(w.child.pid))),
});

async function mainPhases(): Promise<void> {
  if (args.phases.includes('small')) {
    results.small = await smallOps({
      apiUrl: stack.apiUrl,
      store,
      connections: args.connections,
      seconds: args.seconds,
      users: args.users,
      log,
      settle,
    });
  }
  if (args.phases.includes('echo')) {
    await settle();
    results.echo = await echoComparison({
      brokerEndpoint: stack.frontendEndpoint,
      natsUrl: nats.url,
      payloadBytes: args.echoBytes,
      connections: args.echoConnections,
      seconds: args.seconds,
      warmupSeconds: Math.min(2, args.seconds),
      log,
    });
  }
  if (args.phases.includes('large')) {
    await settle();
    const rss: NonNullable<SuiteResults['rss']> = { beforeLarge: await peaks() };
    results.rss = rss;
    const owner = await signUp(stack.apiUrl, `${runPrefix()}-large`, {});
    results.large = await largeTransfer({
      apiUrl: stack.apiUrl,
      store,
      owner: owner.name,
      headers: authHeader(owner.token),
      bytes: args.largeMiB * 2 ** 20,
      log,
      around: async (step, run) => {
        const reset = await Promise.all(processes().map((p) => resetPeakRss(p?.child.pid)));
        if (!reset.every(Boolean)) log('peak RSS could not be reset: the peaks include earlier phases');
        await run();
        rss[step === 'uploadStack' ? 'upload' : 'download'] = await peaks();
      },
    });
  }
  if (args.phases.includes('processing-files')) {
    fileProcessing().interactive = await interactiveUnderProcessing(processingView, args.workers, corpus, {
      connections: args.interactiveConnections,
      seconds: args.seconds,
      uploadConnections: args.uploadConnections,
    });
  }
  if (args.phases.includes('growth')) {
    results.growth = await growth({
      apiUrl: stack.apiUrl,
      sizes: args.growthSizes,
      connections: args.connections,
      seconds: args.seconds,
      log,
      // With processing off nothing drains the backlog: nothing to wait for (and nothing competing).
      waitProcessingIdle: args.processing ? () => waitProcessingIdle(processingView) : undefined,
      fillBudgetMs: args.growthFillMinutes * 60_000,
    });
  }
}

try {
  await stack.start();
  log(`stack up: ${stack.workers.length} workers, MinIO ${minio.endpoint}, NATS ${nats.url}`);
  if (cpuProfDir !== undefined) {
    const pids = Object.fromEntries(processes().map((p) => [p?.name, p?.child.pid]));
    await writeFile(path.join(cpuProfDir, 'pids.json'), `${JSON.stringify(pids, null, 2)}\n`);
  }
  for (const count of schedule) {
    while (stack.workers.length < count) stack.addWorker();
    await stack.waitReady(count, 30_000);
    if (count === args.workers && args.phases.some((p) => p !== 'scaling')) await mainPhases();
    if (args.phases.includes('scaling') && args.workerCounts.includes(count)) {
      await settle();
      const run = await processingAt({
        apiUrl: stack.apiUrl,
        workers: count,
        connections: args.processingConnections,
        seconds: args.seconds,
        mib: args.processingMiB,
        log,
      });
      results.scaling = [...(results.scaling ?? []), run];
    }
    if (args.phases.includes('processing-files') && args.workerCounts.includes(count)) {
      const run = await processFilesAt(processingView, count, corpus, args.uploadConnections);
      log(`  ${run.files} files in ${run.seconds} s: ${run.filesPerSecond} files/s`);
      fileProcessing().runs.push(run);
    }
  }
  if (cpuProfDir !== undefined) {
    const pids = Object.fromEntries(processes().map((p) => [p?.name, p?.child.pid]));
    await writeFile(path.join(cpuProfDir, 'pids.json'), `${JSON.stringify(pids, null, 2)}\n`);
  }
} finally {
  await store.close();
  await stack.stop();
  await nats.stop();
  await minio.stop();
}

results.loadAverage.after = loadavg().map(round2);
const goals = evaluateGoals(results);
process.stdout.write(`${renderReport(results, goals)}\n`);
const date = new Date().toISOString().replace(/[:.]/g, '-');
const dir = new URL('./results/', import.meta.url);
await mkdir(dir, { recursive: true });
const json = new URL(`${date}.json`, dir);
await writeFile(json, `${JSON.stringify({ date: new Date().toISOString(), ...results, goals }, null, 2)}\n`);
log(`wrote ${json.pathname}`);
if (results.scaling !== undefined) {
  const svg = new URL(`${date}.svg`, dir);
  const chart = scalingChart(results.scaling, {
    title: `podstore processing: throughput and p99 by workers (${results.machine.cores} cores)`,
    subtitle: `sha256 of ${args.processingMiB} MiB per request, ${args.processingConnections} connections, ${args.seconds} s per point, ${new Date().toISOString().slice(0, 10)}`,
  });
  await writeFile(svg, chart);
  log(`wrote ${svg.pathname}`);
}
