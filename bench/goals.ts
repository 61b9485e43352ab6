/** The goals, checked against one run's figures: each a ratio measured in the same run. */
import { type GrowthStep, HOT_FILES, type RssSet, type SuiteResults } from './results-types.ts';

export interface Goal {
  goal: string;
  /** The measured ratio (or MiB, for memory); undefined when the phase did not run. */
  measured: number | undefined;
  target: number;
  /** `min`: measured ≥ target; `max`: measured < target; `atMost`: measured ≤ target. */
  kind: GoalKind;
  unit: '×' | 'MiB';
  met: boolean | undefined;
  /** What met and missed mean for this goal (`flat` / `grows`), shown beside the verdict. */
  words?: { met: string; missed: string };
}

export type GoalKind = 'min' | 'max' | 'atMost';

/** Issue 14: at most 128 MiB per process during the large transfers. */
export const RSS_LIMIT_MIB = 128;

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? Math.round((a / b) * 100) / 100 : undefined;

function goal(text: string, measured: number | undefined, target: number, kind: GoalKind, unit: '×' | 'MiB') {
  const met =
    measured === undefined
      ? undefined
      : kind === 'min'
        ? measured >= target
        : kind === 'max'
          ? measured < target
          : measured <= target;
  return { goal: text, measured, target, kind, unit, met };
}

/** How far a growth goal may move from the smallest pod to the largest (issue 14: flat, linear). */
export const GROWTH_LIMIT = 1.5;

/**
 * A growth figure at the largest size over the same figure at the smallest (the steps are in ascending
 * size); undefined with fewer than two sizes or a figure missing or zero.
 */
export function growthRatio(
  steps: GrowthStep[] | undefined,
  pick: (step: GrowthStep) => number | undefined,
): number | undefined {
  if (steps === undefined || steps.length < 2) return undefined;
  const first = steps[0] as GrowthStep;
  const last = steps[steps.length - 1] as GrowthStep;
  return ratio(pick(last), pick(first));
}

const FLAT = { met: 'flat', missed: 'grows' };
const LINEAR = { met: 'linear', missed: 'worse than linear' };

function growthGoals(r: SuiteResults): Goal[] {
  const steps = r.growth?.steps;
  const sizes =
    steps !== undefined && steps.length >= 2
      ? `${(steps[steps.length - 1] as GrowthStep).files.toLocaleString('en')} / ${(steps[0] as GrowthStep).files.toLocaleString('en')} files`
      : 'largest / smallest pod';
  const flat = (what: string, pick: (step: GrowthStep) => number | undefined) => ({
    ...goal(`${what}, ${sizes}`, growthRatio(steps, pick), GROWTH_LIMIT, 'atMost', '×'),
    words: FLAT,
  });
  return [
    flat('growth: 4 KiB GET p50', (s) => s.get.p50),
    flat('growth: 4 KiB replace (PUT) p50', (s) => s.replace.p50),
    flat('growth: 4 KiB create (PUT) p50', (s) => s.create.p50),
    flat('growth: first listing page p50', (s) => s.firstPage.p50),
    {
      ...goal(
        `growth: full listing, time per 1,000 files, ${sizes}`,
        growthRatio(steps, (s) => s.listing.msPer1000),
        GROWTH_LIMIT,
        'atMost',
        '×',
      ),
      words: LINEAR,
    },
  ];
}

/** The largest peak among api, broker and workers; undefined if none was read. */
export function largestRss(rss: RssSet | undefined): number | undefined {
  const all = [rss?.api, rss?.broker, ...(rss?.workers ?? [])].filter((v): v is number => v !== undefined);
  return all.length === 0 ? undefined : Math.max(...all);
}

export function evaluateGoals(r: SuiteResults): Goal[] {
  const s = r.small ?? {};
  const e = r.echo ?? {};
  const l = r.large ?? {};
  const byWorkers = (n: number) => r.scaling?.find((run) => run.workers === n)?.rps;
  const files = r.fileProcessing;
  const filesPerSecond = (n: number) => files?.runs.find((run) => run.workers === n)?.filesPerSecond;
  const interactive = files?.interactive;
  return [
    // The targets are issue 14's (small files near the store's own speed, large ones at 0.8× of it).
    goal(
      '4 KiB GET, full stack / direct MinIO',
      ratio(s.fileGetStack?.rps, s.fileGetDirect?.rps),
      0.8,
      'min',
      '×',
    ),
    goal(
      '4 KiB PUT, full stack / direct MinIO',
      ratio(s.filePutStack?.rps, s.filePutDirect?.rps),
      0.6,
      'min',
      '×',
    ),
    goal(
      'profile GET, full stack / direct MinIO',
      ratio(s.profileGetStack?.rps, s.profileGetDirect?.rps),
      0.8,
      'min',
      '×',
    ),
    goal(
      'profile PUT, full stack / direct MinIO',
      ratio(s.profilePutStack?.rps, s.profilePutDirect?.rps),
      0.6,
      'min',
      '×',
    ),
    goal(
      `broker echo / NATS request-reply (${r.settings.echoBytes} B, ${r.settings.echoConnections} concurrent)`,
      ratio(e.brokerEcho?.rps, e.natsEcho?.rps),
      1.0,
      'min',
      '×',
    ),
    goal('processing, 2 workers / 1 worker', ratio(byWorkers(2), byWorkers(1)), 1.6, 'min', '×'),
    goal(
      `${r.settings.largeMiB} MiB upload, full stack / direct MinIO`,
      ratio(l.uploadStack?.mibPerSecond, l.uploadDirect?.mibPerSecond),
      0.8,
      'min',
      '×',
    ),
    goal(
      `${r.settings.largeMiB} MiB download, full stack / direct MinIO`,
      ratio(l.downloadStack?.mibPerSecond, l.downloadDirect?.mibPerSecond),
      0.8,
      'min',
      '×',
    ),
    goal(
      'peak RSS of api, broker and each worker during the large upload',
      largestRss(r.rss?.upload),
      RSS_LIMIT_MIB,
      'atMost',
      'MiB',
    ),
    goal(
      'peak RSS of api, broker and each worker during the large download',
      largestRss(r.rss?.download),
      RSS_LIMIT_MIB,
      'atMost',
      'MiB',
    ),
    goal(
      'file processing (generated images and PDFs), 2 workers / 1 worker',
      ratio(filesPerSecond(2), filesPerSecond(1)),
      1.7,
      'min',
      '×',
    ),
    goal(
      'small-file GET p99 while processing / idle',
      ratio(interactive?.busy.p99, interactive?.idle.p99),
      1.5,
      'atMost',
      '×',
    ),
    goal(
      `4 KiB GET of ${HOT_FILES} hot files (one pod), full stack / direct MinIO`,
      ratio(s.hotGetStack?.rps, s.hotGetDirect?.rps),
      1.2,
      'min',
      '×',
    ),
    ...growthGoals(r),
  ];
}
