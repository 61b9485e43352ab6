/**
 * One pod growing to each of `sizes` files (issue 14: 1k, 10k, 50k), measured at each size through the
 * full stack: 4 KiB GET and replace (PUT over an existing file) on files spread over the whole pod, 4 KiB
 * creates (PUT of new names), the first page of the folder listing, and the full listing, page after page.
 *
 * The pod is filled once, in growing steps: each size adds only the files it lacks (the creates measured
 * at the size before count too), so the largest size costs its own number of creates, not the sum. The
 * files are all at the pod's root, so the folder listing is of the whole pod (and the figures stay
 * comparable with the runs from before a worker shared its name lock among its creations in one folder,
 * worker/files/name-lock.ts). After each fill the processing backlog (a job per created file) drains
 * before anything is measured; its time is reported. A fill that would run past `fillBudgetMs` stops
 * there: the pod is measured at the size it reached and the larger sizes are left out.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { httpLoad } from '../http-load.ts';
import { authHeader, runPrefix, signUp } from '../load/accounts.ts';
import type { GrowthFill, GrowthListing, GrowthResults, GrowthStep } from '../results-types.ts';

export interface GrowthOptions {
  apiUrl: string;
  sizes: number[];
  connections: number;
  seconds: number;
  log: (line: string) => void;
  /**
   * Resolves when the stack's processing backlog is empty (the created files' jobs are done); undefined
   * when the workers process nothing (`--processing off`).
   */
  waitProcessingIdle: (() => Promise<void>) | undefined;
  /** The time all the fills together may take; the phase stops growing the pod when it is spent. */
  fillBudgetMs: number;
}

/** Page size of the first-page latency: the api's default page (no `limit`). */
export const FIRST_PAGE_LIMIT = 100;
/** Page size of the full listing: the largest page the api serves. */
export const FULL_PAGE_LIMIT = 1000;
/** Distinct files the GET and replace loads go through, drawn at random from the whole pod. */
const SAMPLE = 10_000;
/** Full listings of one size are repeated until this many seconds (at least once, at most 5 times). */
const LISTING_SECONDS = 3;
const MAX_RETRIES = 20;

const round2 = (n: number) => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The files to add before measuring `size`, when the pod already holds `held` (never negative). */
export function fillCount(size: number, held: number): number {
  return Math.max(0, size - held);
}

/** `count` distinct whole numbers drawn at random from [0, n) (all of them, shuffled, when count ≥ n). */
export function sampleIndexes(n: number, count: number, random = randomInt): number[] {
  const k = Math.min(n, count);
  if (k === n) {
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = random(i + 1);
      [all[i], all[j]] = [all[j] as number, all[i] as number];
    }
    return all;
  }
  const picked = new Set<number>();
  while (picked.size < k) picked.add(random(n));
  return [...picked];
}

/** The middle value (the lower of the two middles for an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
}

export async function growth(o: GrowthOptions): Promise<GrowthResults> {
  const owner = await signUp(o.apiUrl, `${runPrefix()}-growth`, { firstName: 'Growth', lastName: 'Bench' });
  const headers = authHeader(owner.token);
  const body = randomBytes(4096);
  const filesUrl = `${o.apiUrl}/v1/users/${owner.name}/files`;
  const fillName = (i: number) => `f-${i}.bin`;
  /** Names of the files in the pod, fill and created alike (all at the root). */
  const names: string[] = [];
  const steps: GrowthStep[] = [];

  async function put(name: string): Promise<{ status: number; retries: number }> {
    let retries = 0;
    for (;;) {
      const res = await fetch(`${filesUrl}/${name}`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body,
      }).catch(() => undefined);
      await res?.arrayBuffer().catch(() => undefined);
      const status = res?.status ?? 0;
      // Over a caller limit (429), a busy stack (503), or no answer: wait and send it again.
      if ((status === 429 || status === 503 || status === 0) && retries < MAX_RETRIES) {
        retries++;
        const after = Number(res?.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 5) * 1000 : 250 * retries);
        continue;
      }
      return { status, retries };
    }
  }

  let fillSpentMs = 0;
  /** Fill names are numbered across the steps, so a step never reuses (replaces) an earlier name. */
  let fillNumber = 0;
  async function fill(count: number): Promise<GrowthFill> {
    const first = names.length;
    let next = 0;
    let retries = 0;
    const failures: Record<string, number> = {};
    const started = performance.now();
    const until = started + o.fillBudgetMs - fillSpentMs;
    let logged = started;
    await Promise.all(
      Array.from({ length: Math.min(o.connections, count) }, async () => {
        while (next < count && performance.now() < until) {
          next++;
          const name = fillName(fillNumber++);
          const answer = await put(name);
          retries += answer.retries;
          // A 200 after a retry: the attempt that got no answer had created it.
          if (answer.status === 201 || (answer.status === 200 && answer.retries > 0)) names.push(name);
          else failures[String(answer.status)] = (failures[String(answer.status)] ?? 0) + 1;
          if (performance.now() - logged > 15_000) {
            logged = performance.now();
            o.log(`  filled ${names.length - first} of ${count}`);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    fillSpentMs += seconds * 1000;
    const drainStarted = performance.now();
    await o.waitProcessingIdle?.();
    const added = names.length - first;
    return {
      added,
      seconds: round2(seconds),
      filesPerSecond: seconds > 0 ? round2(added / seconds) : 0,
      retries,
      failures,
      processingDrainSeconds:
        o.waitProcessingIdle === undefined ? null : round2((performance.now() - drainStarted) / 1000),
    };
  }

  async function listAll(): Promise<Omit<GrowthListing, 'runs'>> {
    let cursor: string | undefined;
    let pages = 0;
    let files = 0;
    const started = performance.now();
    do {
      const query = new URLSearchParams({ limit: String(FULL_PAGE_LIMIT) });
      if (cursor !== undefined) query.set('cursor', cursor);
      const res = await fetch(`${filesUrl}/?${query}`, { headers });
      const text = await res.text();
      if (!res.ok) throw new Error(`listing page ${pages + 1}: ${res.status} ${text}`);
      const page = JSON.parse(text) as { items: unknown[]; next: string | null };
      pages++;
      files += page.items.length;
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
    const seconds = (performance.now() - started) / 1000;
    return {
      pages,
      files,
      seconds: round2(seconds),
      msPer1000: files > 0 ? round2((seconds * 1000 * 1000) / files) : 0,
    };
  }

  async function fullListing(): Promise<GrowthListing> {
    const runs: Omit<GrowthListing, 'runs'>[] = [];
    const started = performance.now();
    do runs.push(await listAll());
    while (runs.length < 5 && performance.now() - started < LISTING_SECONDS * 1000);
    const mid = median(runs.map((r) => r.seconds));
    const chosen = runs.find((r) => r.seconds === mid) as Omit<GrowthListing, 'runs'>;
    return { ...chosen, runs: runs.length };
  }

  const ownerHeaders = () => headers;
  const pathOf = (name: string) => `/v1/users/${owner.name}/files/${name}`;
  for (const [step, size] of o.sizes.entries()) {
    const count = fillCount(size, names.length);
    o.log(`growth: filling the pod to ${size} files (${count} to add, ${o.connections} at once)`);
    const filled = await fill(count);
    const drained =
      filled.processingDrainSeconds === null
        ? 'processing off'
        : `processing drained in ${filled.processingDrainSeconds} s`;
    o.log(
      `  ${filled.added} files in ${filled.seconds} s (${filled.filesPerSecond}/s, ${filled.retries} retries), ${drained}`,
    );
    const short = names.length < size;
    if (short) o.log(`  the fill budget is spent at ${names.length} files: measuring there, no larger size`);
    const sample = sampleIndexes(names.length, SAMPLE).map((i) => pathOf(names[i] as string));
    const load = (method: 'GET' | 'PUT', paths: string[], connections = o.connections) =>
      httpLoad({
        url: o.apiUrl,
        connections,
        seconds: o.seconds,
        method,
        paths,
        headersFor: ownerHeaders,
        ...(method === 'PUT' ? { body, contentType: 'application/octet-stream' } : {}),
      });
    o.log(`  ${names.length} files: first page (1 connection), full listing, GET, replace, create`);
    const firstPage = await load('GET', [pathOf('')], 1);
    const listing = await fullListing();
    // What the pod holds, as listed: the creates of the size before that were still in flight when
    // their load ended are in it, though their answers were not counted.
    const files = listing.files;
    const get = await load('GET', sample);
    const replace = await load('PUT', sample);
    // New names, more than any run can use (a wrapped cursor would turn creates into replaces).
    const createNames = Array.from(
      { length: Math.max(20_000, o.seconds * 2000) },
      (_, i) => `c${step}-${i}.bin`,
    );
    const create = await load('PUT', createNames.map(pathOf));
    const created = create.statuses['201'] ?? 0;
    // The cursor runs through the names in order: about the first `created` are in the pod (the GET
    // sample of the next size is drawn from the names known; a few may be missing or left out).
    names.push(...createNames.slice(0, created));
    steps.push({ files, fill: filled, firstPage, listing, get, replace, create: { ...create, created } });
    const figures = (x: { rps: number; p50: number; p99: number; errors: number }) =>
      `${x.rps}/s, p50 ${x.p50} ms, p99 ${x.p99} ms, ${x.errors} errors`;
    o.log(`  GET ${figures(get)}; replace ${figures(replace)}; create ${figures(create)}`);
    o.log(
      `  first page ${figures(firstPage)}; full listing of ${listing.files} files ${listing.seconds} s (${listing.msPer1000} ms per 1,000 files, ${listing.pages} pages)`,
    );
    if (short) break;
  }
  return {
    owner: owner.name,
    connections: o.connections,
    seconds: o.seconds,
    firstPageLimit: FIRST_PAGE_LIMIT,
    fullPageLimit: FULL_PAGE_LIMIT,
    steps,
  };
}
