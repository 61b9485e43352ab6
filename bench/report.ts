/**
 * The benchmark's tables: each full-stack figure beside its baseline (direct MinIO, NATS, one worker)
 * with the ratio, then the goals. Pure: results in, Markdown-ish text out.
 */
import type { Goal } from './goals.ts';
import type { HttpLoadResult } from './http-load.ts';
import { type GrowthStep, HOT_FILES, type RssSet, type SuiteResults } from './results-types.ts';

const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : 'n/a');
const v = (n: number | undefined) => (n === undefined ? 'n/a' : String(n));
const rssText = (r: RssSet | undefined) =>
  r === undefined
    ? 'n/a'
    : `api ${v(r.api)}, broker ${v(r.broker)}, workers ${r.workers.map(v).join(' / ')} MiB`;

const failures = (statuses: Record<string, number> | undefined) =>
  Object.entries(statuses ?? {})
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, n]) => `${status} ×${n}`)
    .join(', ');

function smallTable(r: SuiteResults): string[] {
  const s = r.small;
  if (s === undefined) return [];
  const row = (label: string, key: string) => {
    const stack = s[`${key}Stack`];
    const direct = s[`${key}Direct`];
    return `| ${label} | ${v(stack?.rps)} | ${v(stack?.p50)} / ${v(stack?.p99)} | ${v(stack?.errors)} | ${v(direct?.rps)} | ${v(direct?.p50)} / ${v(direct?.p99)} | ${ratio(stack?.rps, direct?.rps)} |`;
  };
  return [
    `Small operations, ${r.settings.connections} connections, ${r.settings.seconds} s each, ${r.settings.workers} workers:`,
    '',
    '| operation | stack req/s | stack p50 / p99 ms | errors | direct MinIO req/s | direct p50 / p99 ms | stack / direct |',
    '|---|---|---|---|---|---|---|',
    row('profile GET', 'profileGet'),
    row('profile PUT', 'profilePut'),
    row('4 KiB file GET', 'fileGet'),
    row('4 KiB file PUT', 'filePut'),
    ...(s.fileCreateStack === undefined
      ? []
      : [row('4 KiB file create, one folder of one pod', 'fileCreate')]),
    ...(s.hotGetStack === undefined && s.hotGetDirect === undefined
      ? []
      : [row(`4 KiB file GET, hot (${HOT_FILES} files of one pod, closed loops)`, 'hotGet')]),
    '',
    ...Object.entries(s)
      .map(([key, result]) => [key, failures(result.statuses)] as const)
      .filter(([, text]) => text !== '')
      .map(([key, text]) => `${key} answers other than 2xx: ${text}`),
    ...(Object.values(s).some((result) => failures(result.statuses) !== '') ? [''] : []),
  ];
}

function echoTable(r: SuiteResults): string[] {
  const e = r.echo;
  if (e === undefined) return [];
  const row = (label: string, key: string) => {
    const x = e[key];
    return `| ${label} | ${v(x?.rps)} | ${v(x?.p50)} / ${v(x?.p90)} / ${v(x?.p99)} | ${v(x?.errors)} |`;
  };
  return [
    `Echo, ${r.settings.echoBytes} B payload, ${r.settings.echoConnections} concurrent, ${r.settings.seconds} s each, in alternating slices of about 2 s:`,
    '',
    '| path | req/s | p50 / p90 / p99 ms | errors |',
    '|---|---|---|---|',
    row('broker: BrokerClient → broker → worker (ZeroMQ)', 'brokerEcho'),
    row('NATS: requester → nats-server → responder', 'natsEcho'),
    `| broker / NATS | ${ratio(e.brokerEcho?.rps, e.natsEcho?.rps)} | | |`,
    '',
  ];
}

function largeTable(r: SuiteResults): string[] {
  const l = r.large;
  if (l === undefined) return [];
  const row = (label: string, key: string) => {
    const stack = l[`${key}Stack`];
    const direct = l[`${key}Direct`];
    return `| ${label} | ${v(stack?.mibPerSecond)} MiB/s | ${v(stack?.seconds)} s | ${v(direct?.mibPerSecond)} MiB/s | ${v(direct?.seconds)} s | ${ratio(stack?.mibPerSecond, direct?.mibPerSecond)} |`;
  };
  return [
    `| ${r.settings.largeMiB} MiB transfer | stack | stack time | direct MinIO | direct time | stack / direct |`,
    '|---|---|---|---|---|---|',
    row('upload', 'upload'),
    row('download', 'download'),
    '',
    `peak RSS during the upload: ${rssText(r.rss?.upload)}`,
    `peak RSS during the download: ${rssText(r.rss?.download)}`,
    `peak RSS before them (small operations, echo): ${rssText(r.rss?.beforeLarge)}`,
    '',
  ];
}

function scalingTable(r: SuiteResults): string[] {
  const runs = r.scaling;
  if (runs === undefined || runs.length === 0) return [];
  const one = runs.find((run) => run.workers === 1) ?? runs[0];
  return [
    `processing (sha256 of ${r.settings.processingMiB} MiB per request), ${r.settings.processingConnections} connections, ${r.settings.seconds} s per worker count:`,
    '',
    '| workers | req/s | p50 ms | p90 ms | p99 ms | errors | vs 1 worker |',
    '|---|---|---|---|---|---|---|',
    ...runs.map(
      (run) =>
        `| ${run.workers} | ${run.rps} | ${run.p50} | ${run.p90} | ${run.p99} | ${run.errors} | ${ratio(run.rps, one?.rps)} |`,
    ),
    '',
  ];
}

function fileProcessingTable(r: SuiteResults): string[] {
  const f = r.fileProcessing;
  if (f === undefined) return [];
  const runs = f.runs;
  const one = runs.find((run) => run.workers === 1) ?? runs[0];
  const first = runs[0];
  const table =
    first === undefined
      ? []
      : [
          `File processing: ${first.files} generated images and PDFs (${first.mib} MiB), from the first upload until every file is processed:`,
          '',
          '| workers | files/s | time s | upload s | mean job ms | jobs | retries | failed | vs 1 worker |',
          '|---|---|---|---|---|---|---|---|---|',
          ...runs.map(
            (run) =>
              `| ${run.workers} | ${run.filesPerSecond} | ${run.seconds} | ${run.uploadSeconds} | ${run.meanJobMs} | ${run.jobs} | ${run.retries} | ${run.failed} | ${ratio(run.filesPerSecond, one?.filesPerSecond)} |`,
          ),
          '',
        ];
  const i = f.interactive;
  const interactive =
    i === undefined
      ? []
      : [
          `Small-file (4 KiB) GET, ${i.connections} connections, ${i.seconds} s, ${i.workers} workers:`,
          '',
          '| processing | req/s | p50 ms | p90 ms | p99 ms | errors |',
          '|---|---|---|---|---|---|',
          `| idle | ${i.idle.rps} | ${i.idle.p50} | ${i.idle.p90} | ${i.idle.p99} | ${i.idle.errors} |`,
          `| busy | ${i.busy.rps} | ${i.busy.p50} | ${i.busy.p90} | ${i.busy.p99} | ${i.busy.errors} |`,
          `| busy / idle | ${ratio(i.busy.rps, i.idle.rps)} | ${ratio(i.busy.p50, i.idle.p50)} | ${ratio(i.busy.p90, i.idle.p90)} | ${ratio(i.busy.p99, i.idle.p99)} | |`,
          '',
          ...(i.busyThroughout
            ? []
            : [
                `warning: the batch was processed before the busy load ended (${i.processedBeforeLoadEnded} jobs): the busy figures include idle time`,
                '',
              ]),
        ];
  return [...table, ...interactive];
}

function growthTables(r: SuiteResults): string[] {
  const g = r.growth;
  if (g === undefined || g.steps.length === 0) return [];
  const n = (x: number) => x.toLocaleString('en');
  const first = g.steps[0];
  const vsFirst = (pick: (step: GrowthStep) => number) => (step: GrowthStep) =>
    first === undefined ? 'n/a' : ratio(pick(step), pick(first));
  const loadTable = (title: string, pick: (step: GrowthStep) => HttpLoadResult) => [
    title,
    '',
    '| files in the pod | req/s | p50 ms | p99 ms | errors | p50 vs smallest |',
    '|---|---|---|---|---|---|',
    ...g.steps.map((step) => {
      const x = pick(step);
      return `| ${n(step.files)} | ${x.rps} | ${x.p50} | ${x.p99} | ${x.errors} | ${vsFirst((s) => pick(s).p50)(step)} |`;
    }),
    '',
  ];
  const failed = g.steps
    .flatMap((step) =>
      (
        [
          ['fill', step.fill.failures],
          ['first page', step.firstPage.statuses],
          ['GET', step.get.statuses],
          ['replace', step.replace.statuses],
          ['create', step.create.statuses],
        ] as const
      ).map(([what, statuses]) => [step.files, what, failures(statuses)] as const),
    )
    .filter(([, , text]) => text !== '')
    .map(([files, what, text]) => `${n(files)} files, ${what}: answers other than 2xx: ${text}`);
  return [
    `Growth: one pod (${g.owner}), all its files at its root, at each size; ${g.connections} connections, ${g.seconds} s per load, ${r.settings.workers} workers${r.settings.processing === 'off' ? ', processing off (no job ran)' : ''}.`,
    '',
    '| files in the pod | added | fill s | files/s | retries (429/503) | processing drained after s |',
    '|---|---|---|---|---|---|',
    ...g.steps.map(
      (step) =>
        `| ${n(step.files)} | ${n(step.fill.added)} | ${step.fill.seconds} | ${step.fill.filesPerSecond} | ${step.fill.retries} | ${step.fill.processingDrainSeconds ?? 'processing off'} |`,
    ),
    '',
    ...loadTable('4 KiB GET (files drawn from the whole pod):', (s) => s.get),
    ...loadTable('4 KiB replace (PUT over the same files):', (s) => s.replace),
    ...loadTable('4 KiB create (PUT of new names beside them):', (s) => s.create),
    ...loadTable(
      `First page of the folder listing (${g.firstPageLimit} entries, the api's default), 1 connection:`,
      (s) => s.firstPage,
    ),
    `Full listing, page after page (${g.fullPageLimit} entries a page), median of the runs:`,
    '',
    '| files in the pod | files listed | pages | time s | ms per 1,000 files | per 1,000 vs smallest | runs |',
    '|---|---|---|---|---|---|---|',
    ...g.steps.map(
      (step) =>
        `| ${n(step.files)} | ${n(step.listing.files)} | ${step.listing.pages} | ${step.listing.seconds} | ${step.listing.msPer1000} | ${vsFirst((s) => s.listing.msPer1000)(step)} | ${step.listing.runs} |`,
    ),
    '',
    ...(failed.length === 0 ? [] : [...failed, '']),
  ];
}

export function renderGoals(goals: Goal[]): string[] {
  const measured = (g: Goal) =>
    g.measured === undefined ? 'not run' : `${g.measured}${g.unit === '×' ? '×' : ' MiB'}`;
  const sign = { min: '≥', max: '<', atMost: '≤' } as const;
  const target = (g: Goal) => `${sign[g.kind]} ${g.target}${g.unit === '×' ? '×' : ' MiB'}`;
  const met = (g: Goal) =>
    g.met === undefined
      ? '–'
      : `${g.met ? 'met' : 'missed'}${g.words === undefined ? '' : `: ${g.met ? g.words.met : g.words.missed}`}`;
  return [
    '| goal | measured | target | |',
    '|---|---|---|---|',
    ...goals.map((g) => `| ${g.goal} | ${measured(g)} | ${target(g)} | ${met(g)} |`),
  ];
}

export function renderReport(r: SuiteResults, goals: Goal[]): string {
  const load = (l: number[] | undefined) =>
    l === undefined ? 'n/a' : l.map((n) => n.toFixed(2)).join(' / ');
  return [
    `podstore bench: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}; ` +
      `everything on this machine, loopback; the stack ran ${r.settings.run === 'compiled' ? 'compiled, as in the image' : 'from the sources (tsx)'}`,
    `load average (1 / 5 / 15 min) before ${load(r.loadAverage.before)}, after ${load(r.loadAverage.after)}`,
    '',
    ...smallTable(r),
    ...echoTable(r),
    ...largeTable(r),
    ...scalingTable(r),
    ...fileProcessingTable(r),
    ...growthTables(r),
    ...renderGoals(goals),
  ].join('\n');
}
