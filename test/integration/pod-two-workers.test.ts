/**
 * Two workers that both serve one pod at once (issue 14): the broker prefers a pod's home worker, but
 * only while the home has room, so a busy pod spills onto the other worker, and a worker that joins
 * or is thought dead moves pods mid-flight. What each worker keeps about a pod (its share of a name
 * lock, its recent sight of the pod's account) must never lose an acknowledged write or serve a read
 * older than a write acknowledged before the read began.
 *
 * Real stack (api, broker, 2 workers, MinIO) with one command slot and one transfer slot per worker, so
 * that the pod's traffic surely runs on both: the workers' own counters must show each one ran its
 * writes. The home answers reads from its memory of the pod when the broker's placement allows it
 * (decision 0008); the second test makes sure it did, while writes spilled to the other worker. Then, for a few seconds, on one pod: writers replace their own file again and again (each
 * remembers the last version acknowledged), readers read those files (each read must show at least the
 * version acknowledged before it began), creators add new files to one folder (each acknowledged one must
 * be listed and read back at the end).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const OWNER = 'patient';
const WRITERS = 4;
const READERS = 3;
const CREATORS = 2;
const RUN_MS = 5000;
/** Bounded whatever the machine's speed. */
const MAX_OPS_PER_LOOP = 300;

let minio: MinioServer;
let stack: LocalStack;
let token: string;

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 2,
    workerMetrics: true,
    env: {
      ...minioEnv(minio, 'pod-two-workers'),
      // The readers' load must reach the workers (this is about what a worker remembers): the api keeps
      // no owner's reads of its own here (api-read-leases.test.ts tests those).
      API_READ_CACHE_MB: '0',
      WORKER_CAPACITY: '1',
      WORKER_TRANSFER_CAPACITY: '1',
      // The test's own loops are one caller: let them all be in flight.
      API_LIMIT_TRANSFERS_PER_CALLER: '64',
    },
  });
  token = await signUp(stack.apiUrl, OWNER);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

const url = (path: string) => `${stack.apiUrl}/v1/users/${OWNER}/files/${path}`;
const put = (path: string, body: string) =>
  fetch(url(path), { method: 'PUT', headers: { ...bearer(token), 'content-type': 'text/plain' }, body });
/** A 429 or 503 acknowledged nothing: the loops go on (they count them). */
const refused = (status: number) => status === 429 || status === 503;

/** The sum of a metric's series matching `pattern` (its value the first group), per worker. */
async function perWorker(pattern: RegExp): Promise<number[]> {
  const base = stack.options.workerMetricsBasePort;
  return Promise.all(
    stack.workers.map(async (_, i) => {
      const text = await (await fetch(`http://127.0.0.1:${base + i}/metrics`)).text();
      return [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
    }),
  );
}
/** files.put commands each worker ran (its own metrics). */
const putsByWorker = () => perWorker(/^podstore_worker_commands_total\{command="files\.put"[^}]*\} (\d+)/gm);
/** Reads of a file record each worker answered from its memory of the pod (record-cache.ts). */
const hitsByWorker = () => perWorker(/^podstore_worker_record_cache_reads_total\{outcome="hit"\} (\d+)/gm);

describe('one pod served by two workers at once', () => {
  it('never loses an acknowledged write nor serves a read older than one acknowledged before it', async () => {
    const before = await putsByWorker();
    const acked = Array.from({ length: WRITERS }, () => 0);
    const created: string[] = [];
    const stale: string[] = [];
    const unexpected: string[] = [];
    let refusals = 0;
    const until = performance.now() + RUN_MS;
    const running = () => performance.now() < until;

    const writer = async (k: number) => {
      for (let version = 1; running() && version <= MAX_OPS_PER_LOOP; version++) {
        const res = await put(`reg/w${k}.txt`, `${k}:${version}`);
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 201) acked[k] = version;
        else if (refused(res.status)) refusals++;
        else unexpected.push(`PUT w${k} v${version}: ${res.status}`);
      }
    };
    const reader = async (r: number) => {
      for (let i = 0; running() && i < MAX_OPS_PER_LOOP; i++) {
        const k = (r + i) % WRITERS;
        const floor = acked[k] ?? 0; // acknowledged before this read began
        const res = await fetch(url(`reg/w${k}.txt`), { headers: bearer(token) });
        const text = await res.text();
        if (res.status === 404 && floor === 0) continue; // not written yet
        if (refused(res.status)) {
          refusals++;
          continue;
        }
        if (res.status !== 200) {
          unexpected.push(`GET w${k}: ${res.status}`);
          continue;
        }
        const version = Number(text.split(':')[1]);
        if (!(version >= floor)) stale.push(`w${k}: read ${version} after ${floor} was acknowledged`);
      }
    };
    const creator = async (c: number) => {
      for (let i = 0; running() && i < MAX_OPS_PER_LOOP; i++) {
        const name = `c${c}-${i}.txt`;
        const res = await put(`inbox/${name}`, name);
        await res.arrayBuffer();
        if (res.status === 201) created.push(name);
        else if (refused(res.status)) refusals++;
        else unexpected.push(`PUT inbox/${name}: ${res.status}`);
      }
    };
    await Promise.all([
      ...Array.from({ length: WRITERS }, (_, k) => writer(k)),
      ...Array.from({ length: READERS }, (_, r) => reader(r)),
      ...Array.from({ length: CREATORS }, (_, c) => creator(c)),
    ]);

    expect(unexpected).toEqual([]);
    expect(stale).toEqual([]);
    // The pod really was served by both workers.
    const ran = (await putsByWorker()).map((n, i) => n - (before[i] ?? 0));
    for (const n of ran) expect(n, `files.put per worker: ${ran}`).toBeGreaterThan(0);
    // And enough happened to mean something (refusals are a busy machine, not a failure).
    expect(
      acked.every((v) => v > 0),
      `acknowledged versions ${acked}, refusals ${refusals}`,
    ).toBe(true);
    expect(created.length).toBeGreaterThan(0);

    // Every acknowledged write is there: the last version of each file, every created file, listed.
    for (let k = 0; k < WRITERS; k++) {
      const text = await (await fetch(url(`reg/w${k}.txt`), { headers: bearer(token) })).text();
      expect(Number(text.split(':')[1])).toBeGreaterThanOrEqual(acked[k] ?? 0);
    }
    const listed = new Set<string>();
    for (let cursor: string | undefined, page = 0; page < 50; page++) {
      const query = `?limit=1000${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await fetch(`${url('inbox/')}${query}`, { headers: bearer(token) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: { name: string }[]; next?: string | null };
      for (const item of body.items) listed.add(item.name);
      if (body.next === undefined || body.next === null) break;
      cursor = body.next; // the cursor of the next page
    }
    expect(created.filter((name) => !listed.has(name))).toEqual([]);
    for (const name of created.slice(-5)) {
      expect(await (await fetch(url(`inbox/${name}`), { headers: bearer(token) })).text()).toBe(name);
    }
  }, 120_000);

  it("answers reads from the home's memory, and none older than a write acknowledged before it, though writes spill to the other worker", async () => {
    const [putsBefore, hitsBefore] = [await putsByWorker(), await hitsByWorker()];
    let acked = 0;
    const stale: string[] = [];
    const unexpected: string[] = [];
    let reads = 0;
    const until = performance.now() + RUN_MS;
    const running = () => performance.now() < until;
    // One writer replaces one file, and reads it back after each acknowledged version; readers keep the
    // home busy, so that some writes find it full and run on the other worker (a new epoch each).
    const writer = async () => {
      for (let version = 1; running() && version <= MAX_OPS_PER_LOOP; version++) {
        const res = await put('hot/note.txt', `n:${version}`);
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 201) acked = version;
        else if (!refused(res.status)) unexpected.push(`PUT v${version}: ${res.status}`);
        const back = await fetch(url('hot/note.txt'), { headers: bearer(token) });
        const text = await back.text();
        if (back.status === 200 && Number(text.split(':')[1]) < acked)
          stale.push(`read back ${text} after ${acked} was acknowledged`);
      }
    };
    const reader = async () => {
      for (let i = 0; running() && i < 4 * MAX_OPS_PER_LOOP; i++) {
        const floor = acked;
        const res = await fetch(url('hot/note.txt'), { headers: bearer(token) });
        const text = await res.text();
        if ((res.status === 404 && floor === 0) || refused(res.status)) continue;
        if (res.status !== 200) unexpected.push(`GET: ${res.status}`);
        else if (Number(text.split(':')[1]) < floor)
          stale.push(`read ${text} after ${floor} was acknowledged`);
        else reads++;
      }
    };
    await Promise.all([writer(), reader(), reader(), reader(), reader()]);

    expect(unexpected).toEqual([]);
    expect(stale).toEqual([]);
    expect(acked).toBeGreaterThan(5);
    const puts = (await putsByWorker()).map((n, i) => n - (putsBefore[i] ?? 0));
    for (const n of puts) expect(n, `files.put per worker: ${puts}`).toBeGreaterThan(0);
    const hits = (await hitsByWorker()).map((n, i) => n - (hitsBefore[i] ?? 0));
    expect(
      hits.reduce((a, b) => a + b, 0),
      `reads from memory per worker: ${hits} of ${reads} reads`,
    ).toBeGreaterThan(0);
  }, 120_000);
});
