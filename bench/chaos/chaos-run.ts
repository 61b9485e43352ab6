/**
 * One chaos run against a running stack: a bounded mixed load (chaos-mix.ts) while a disruptor breaks
 * parts of it (worker-killer.ts SIGKILLs local workers; the compose test kills containers); then, with
 * every part back, every acknowledged write is read back and checked against the ledger, and the
 * figures are judged (chaos-tally.ts). With `large`, the file of the long downloads is written before
 * the load. With `abandonUploads`, that many resumable uploads are created and partly sent before the
 * load and never finished; after the read-back the run waits past their expiry and lists the store
 * (`target.storage`): nothing of them may be left.
 */
import { createHash, randomBytes } from 'node:crypto';
import { signUp } from '../load/accounts.ts';
import type { LoadSummary } from '../load/recorder.ts';
import { runLoad } from '../load/runner.ts';
import { chaosMix, type LargeTransfers, LONG_DOWNLOAD_PATH, sha256 } from './chaos-mix.ts';
import {
  type AbandonedFigures,
  type ChaosFigures,
  ChaosTally,
  figuresOf,
  type ReadBack,
  type Verdict,
  verdictOf,
} from './chaos-tally.ts';
import type { Kill } from './worker-killer.ts';
import { ABSENT, WriteLedger } from './write-ledger.ts';

/** What breaks the stack while the load runs: `start` begins, `stop` ends and waits for replacements. */
export interface Disruptor {
  readonly kills: Kill[];
  start(): void;
  stop(): Promise<Kill[]>;
}

/** The stack under test: where to send the load, what breaks it, and how to know it has recovered. */
export interface ChaosTarget {
  apiUrl: string;
  disruptor: Disruptor;
  /** Resolves once every part is back (every worker registered), before the read-back. */
  recovered(): Promise<void>;
  /** The stack's object store, listed (for the abandoned uploads' check). */
  storage?: ChaosStorage;
}

export interface ChaosStorage {
  /** Every key under `prefix`. */
  list(prefix: string): Promise<string[]>;
  /** The object at `key`, or undefined if there is none. */
  read(key: string): Promise<Buffer | undefined>;
}

export interface ChaosOptions {
  target: ChaosTarget;
  workers: number;
  seconds: number;
  connections: number;
  killEveryS: number;
  restartDelayMs: number;
  seed: number;
  maxErrorRate: number;
  /** Large uploads and long downloads in the mix (chaos-mix.ts); absent: small resumable uploads only. */
  large?: LargeTransfers;
  /** Uploads to create, partly send and abandon; checked gone after their expiry (needs target.storage). */
  abandonUploads?: number;
  log: (line: string) => void;
}

export interface ChaosResult {
  settings: Omit<ChaosOptions, 'target' | 'log'>;
  figures: ChaosFigures;
  verdict: Verdict;
  load: LoadSummary;
  kills: Kill[];
  failures: ChaosTally['failures'];
  wrongReads: ReadBack['wrong'];
}

export async function chaosRun(options: ChaosOptions): Promise<ChaosResult> {
  const { target, log } = options;
  const abandon = options.abandonUploads ?? 0;
  if (abandon > 0 && target.storage === undefined)
    throw new Error('abandoned uploads are checked in the store: the target has no storage');
  const owner = await signUp(target.apiUrl, `chaos-${options.seed}-${Date.now().toString(36)}`, {});
  const token = owner.token as string;
  const tally = new ChaosTally();
  const ledger = new WriteLedger();
  let started = performance.now();
  const mix = chaosMix({
    apiUrl: target.apiUrl,
    owner: owner.name,
    token,
    seed: options.seed,
    startedAt: () => started,
    tally,
    ledger,
    ...(options.large === undefined ? {} : { large: options.large }),
  });
  if (options.large !== undefined) {
    const size = options.large.downloadBytes;
    log(`writing the ${Math.round(size / 2 ** 20)} MiB file of the long downloads`);
    ledger.record(LONG_DOWNLOAD_PATH, await putLarge(target.apiUrl, owner.name, token, size), true);
  }
  const abandoned =
    abandon > 0 ? await abandonUploads(target.apiUrl, owner.name, token, abandon, ledger) : [];
  const objectsBefore =
    target.storage === undefined ? 0 : (await abandonedObjects(target.storage, owner.name, abandoned)).length;
  const killer = target.disruptor;
  log(
    `chaos: ${options.seconds} s of mixed load, ${options.connections} connections, ${options.workers} workers, one stopped every ${options.killEveryS} s (a crash or a graceful leave, by turns, where the disruptor can)`,
  );
  started = performance.now();
  killer.start();
  // The kills end with the load's time (a kill due at its very end still happens): operations still in
  // flight then (a large transfer, say) finish without new kills, so a long one cannot stretch the run
  // into more kills than were planned.
  let stopped: Promise<unknown> | undefined;
  const timer = setTimeout(
    () => {
      stopped = killer.stop();
      stopped.catch(() => undefined); // handled (and thrown) below, once the load is over
    },
    options.seconds * 1000 + 250,
  );
  let load: LoadSummary;
  try {
    load = await runLoad(mix, options.connections, { duration: options.seconds });
  } finally {
    clearTimeout(timer);
    await (stopped ?? killer.stop());
  }
  await target.recovered();
  log(`load over: ${load.requests} requests; reading back every acknowledged write`);
  const readBack = await readEverythingBack(target.apiUrl, owner.name, token, ledger);
  const figures = figuresOf(
    tally,
    readBack,
    killer.kills.map((k) => k.at),
    options.killEveryS,
  );
  if (abandoned.length > 0 && target.storage !== undefined) {
    log(`waiting past the expiry of ${abandoned.length} abandoned uploads`);
    figures.abandoned = await checkAbandoned(target.storage, owner.name, abandoned, objectsBefore);
  }
  const verdict = verdictOf(figures, {
    maxErrorRate: options.maxErrorRate,
    minKills: Math.max(1, Math.floor(options.seconds / options.killEveryS) - 1),
    ...(options.large === undefined ? {} : { transfers: ['resumable', 'long-download'] }),
  });
  const { target: _target, log: _log, ...settings } = options;
  return {
    settings,
    figures,
    verdict,
    load,
    kills: killer.kills,
    failures: tally.failures,
    wrongReads: [...tally.wrongReads, ...readBack.wrong],
  };
}

/** Reads every path of the ledger and every created file; each must hold what the ledger allows. */
async function readEverythingBack(
  apiUrl: string,
  owner: string,
  token: string,
  ledger: WriteLedger,
): Promise<ReadBack> {
  const headers = { authorization: `Bearer ${token}` };
  const read = async (url: string): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status === 200) return sha256(body);
      if (res.status === 404) return ABSENT;
      if (attempt >= 5) return `status ${res.status}`;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const result: ReadBack = { checked: 0, intact: 0, wrong: [] };
  for (const path of ledger.paths) {
    const check = ledger.check(path, await read(`${apiUrl}/v1/users/${owner}/files/${path}`));
    result.checked++;
    if (check.ok) result.intact++;
    else result.wrong.push(check);
  }
  for (const created of ledger.created) {
    const url = created.location.startsWith('/') ? `${apiUrl}${created.location}` : created.location;
    const found = await read(url);
    result.checked++;
    if (found === created.sha256) result.intact++;
    else result.wrong.push({ path: created.location, found, allowed: [created.sha256] });
  }
  return result;
}

/** PUTs `size` random bytes at LONG_DOWNLOAD_PATH (before the load: nothing is killed yet); their sha256. */
async function putLarge(apiUrl: string, owner: string, token: string, size: number): Promise<string> {
  const body = randomBytes(size);
  const res = await fetch(`${apiUrl}/v1/users/${owner}/files/${LONG_DOWNLOAD_PATH}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body,
    signal: AbortSignal.timeout(120_000),
  });
  await res.arrayBuffer();
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`the file of the long downloads was not written: ${res.status}`);
  return createHash('sha256').update(body).digest('hex');
}

interface Abandoned {
  id: string;
  path: string;
  /** ms since the epoch (Upload-Expires). */
  expiresAt: number;
}

const ABANDONED_LENGTH = 4 * 2 ** 20;
const ABANDONED_PART = 256 * 1024;

/**
 * Creates `count` resumable uploads of 4 MiB and sends two parts of 256 KiB of each (the creation's
 * body and a PATCH), then leaves them. Their paths are in the ledger as never written: the read-back
 * expects 404 there.
 */
async function abandonUploads(
  apiUrl: string,
  owner: string,
  token: string,
  count: number,
  ledger: WriteLedger,
): Promise<Abandoned[]> {
  const headers = { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' };
  const out: Abandoned[] = [];
  for (let i = 0; i < count; i++) {
    const path = `chaos/abandoned/a${i}.bin`;
    const created = await fetch(`${apiUrl}/v1/users/${owner}/uploads/`, {
      method: 'POST',
      headers: {
        ...headers,
        'upload-length': String(ABANDONED_LENGTH),
        'upload-metadata': `path ${Buffer.from(path).toString('base64')}`,
        'content-type': 'application/offset+octet-stream',
      },
      body: randomBytes(ABANDONED_PART),
    });
    await created.arrayBuffer();
    const location = created.headers.get('location');
    if (created.status !== 201 || location === null)
      throw new Error(`abandoned upload ${i} not created: ${created.status}`);
    const url = new URL(location, apiUrl).href;
    const patched = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...headers,
        'upload-offset': String(ABANDONED_PART),
        'content-type': 'application/offset+octet-stream',
      },
      body: randomBytes(ABANDONED_PART),
    });
    await patched.arrayBuffer();
    if (patched.status !== 204) throw new Error(`abandoned upload ${i} not sent in part: ${patched.status}`);
    out.push({
      id: url.slice(url.lastIndexOf('/') + 1),
      path,
      expiresAt: Date.parse(created.headers.get('upload-expires') ?? ''),
    });
    ledger.record(path, ABSENT, true);
  }
  return out;
}

/**
 * What of these uploads the store holds: the keys of their records, segments, done records and expiry
 * entries, and their quota reservations in the pod's usage document (`<usage key>#upload:<id>`).
 */
async function abandonedObjects(
  storage: ChaosStorage,
  owner: string,
  uploads: Abandoned[],
): Promise<string[]> {
  const ids = new Set(uploads.map((u) => u.id));
  const keys: string[] = [];
  for (const upload of uploads) {
    keys.push(...(await storage.list(`users/${owner}/uploads/open/${owner}/${upload.id}/`)));
    keys.push(...(await storage.list(`users/${owner}/uploads/done/${owner}/${upload.id}.json`)));
  }
  for (const key of await storage.list('upload-expiries/')) {
    const id = /-([0-9a-f-]{36})\.json$/.exec(key)?.[1];
    if (id !== undefined && ids.has(id)) keys.push(key);
  }
  const usageKey = `users/${owner}/quota/usage.json`;
  const usage = await storage.read(usageKey);
  if (usage !== undefined) {
    const doc = JSON.parse(usage.toString('utf8')) as { reservations?: { id?: unknown }[] };
    for (const reservation of doc.reservations ?? []) {
      const id = String(reservation.id ?? '');
      if (id.startsWith('upload:') && ids.has(id.slice('upload:'.length))) keys.push(`${usageKey}#${id}`);
    }
  }
  return keys;
}

/** Waiting longer than this for an expiry is no test run: the stack must be given a short UPLOAD_EXPIRY_S. */
const MAX_EXPIRY_WAIT_MS = 5 * 60_000;
/** How long past the last expiry the sweepers may take to remove everything. */
const SWEEP_GRACE_MS = 30_000;

/** Waits past the uploads' expiry until nothing of them is left in the store, or the grace is over. */
async function checkAbandoned(
  storage: ChaosStorage,
  owner: string,
  uploads: Abandoned[],
  objectsBefore: number,
): Promise<AbandonedFigures> {
  const expiry = Math.max(...uploads.map((u) => u.expiresAt));
  const base = { uploads: uploads.length, objectsBefore };
  if (!Number.isFinite(expiry) || expiry - Date.now() > MAX_EXPIRY_WAIT_MS) {
    const left = await abandonedObjects(storage, owner, uploads);
    return {
      ...base,
      objectsLeft: left.length,
      leftKeys: left.slice(0, 10),
      goneAfterExpiryS: 0,
      unchecked: `they expire in ${Math.round((expiry - Date.now()) / 1000)} s (UPLOAD_EXPIRY_S too long for a run)`,
    };
  }
  for (;;) {
    const now = Date.now();
    const left = now < expiry ? undefined : await abandonedObjects(storage, owner, uploads);
    if (left !== undefined && (left.length === 0 || now > expiry + SWEEP_GRACE_MS))
      return {
        ...base,
        objectsLeft: left.length,
        leftKeys: left.slice(0, 10),
        goneAfterExpiryS: Math.round((now - expiry) / 100) / 10,
      };
    await new Promise((r) => setTimeout(r, now < expiry ? Math.min(expiry - now, 1000) : 250));
  }
}
