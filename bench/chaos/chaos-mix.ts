/**
 * The mixed load of the chaos run, as a load scenario (bench/load/runner.ts): each connection works on
 * its own files (so the order of writes to a path is known), picking operations with a seeded random
 * mix: reads, metadata, listings, writes of a few sizes, conditional metadata patches, deletes, POSTs
 * with an Idempotency-Key and a few without, and resumable uploads (tus-js-client), which must get
 * through whatever dies. With `large` (LargeTransfers), two connections do large transfers only, one
 * after the other, so they are under way all through the run: connection 0 large resumable uploads
 * (several PATCHes of several MiB, so a kill lands mid-upload), connection 1 long downloads (a GET of a
 * file of tens of MiB written before the load, streamed and hashed); the other connections then send
 * no resumable upload (two large transfers at a time are what a 2-core machine carries besides the
 * rest). Without it (the compose test), resumable uploads are 1–2 MiB and any connection may send
 * one. Every answer goes to the tally, every write to the ledger, and every read is checked against the
 * ledger while the load runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import type { Op, OpResult, ScenarioRun } from '../load/runner.ts';
import type { ChaosTally } from './chaos-tally.ts';
import { seededRandom } from './seeded-random.ts';
import { ABSENT, type WriteLedger } from './write-ledger.ts';

export interface MixOptions {
  apiUrl: string;
  owner: string;
  token: string;
  seed: number;
  /** Start of the load (performance.now()), for the time of each answer. */
  startedAt: () => number;
  tally: ChaosTally;
  ledger: WriteLedger;
  filesPerConnection?: number;
  /** Large uploads and long downloads (absent: resumable uploads of 1–2 MiB, no long download). */
  large?: LargeTransfers;
}

/** The large transfers of the mix. */
export interface LargeTransfers {
  /** Smallest and largest resumable upload, in bytes. */
  uploadBytes: [number, number];
  /** Bytes per PATCH. */
  patchBytes: number;
  /** Size of the file every long download reads (written before the load: LONG_DOWNLOAD_PATH). */
  downloadBytes: number;
}

const MiB = 1024 * 1024;

/** 8–16 MiB uploads in 2 MiB PATCHes (4 to 8 each), downloads of 32 MiB. */
export const LARGE_TRANSFERS: LargeTransfers = {
  uploadBytes: [8 * MiB, 16 * MiB],
  patchBytes: 2 * MiB,
  downloadBytes: 32 * MiB,
};

/** The file of the long downloads: no other operation touches it. */
export const LONG_DOWNLOAD_PATH = 'chaos/large/download.bin';

type OpName =
  | 'get'
  | 'metadata'
  | 'head'
  | 'list'
  | 'put'
  | 'patch'
  | 'delete'
  | 'post-keyed'
  | 'post-unkeyed'
  | 'profile'
  | 'resumable'
  | 'long-download';

/** Relative weights; unkeyed POSTs are the one operation the system may fail (503) when a worker dies. */
export const MIX: Record<OpName, number> = {
  get: 28,
  metadata: 8,
  head: 5,
  list: 7,
  put: 25,
  patch: 7,
  delete: 4,
  'post-keyed': 10,
  'post-unkeyed': 3,
  profile: 3,
  resumable: 1,
  'long-download': 0,
};

/** The mix of the other connections when connections 0 and 1 do the large transfers: none of them. */
export const LARGE_MIX: Record<OpName, number> = { ...MIX, resumable: 0 };

export function pick(random: () => number, weights: Record<OpName, number> = MIX): OpName {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (const [name, weight] of Object.entries(weights) as [OpName, number][]) {
    r -= weight;
    if (r < 0) return name;
  }
  return 'get';
}

/** Body sizes: mostly small files, some of 64 KiB, a few of 400 KiB (several stream parts). */
function bodySize(random: () => number): number {
  const r = random();
  if (r < 0.7) return 1024 + Math.floor(random() * 15 * 1024);
  if (r < 0.95) return 64 * 1024;
  return 400 * 1024;
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

export function chaosMix(options: MixOptions): ScenarioRun {
  const { apiUrl, owner, token, tally, ledger } = options;
  const perConnection = options.filesPerConnection ?? 6;
  const auth = { authorization: `Bearer ${token}` };
  const randoms = new Map<number, () => number>();
  const randomOf = (conn: number) => {
    let r = randoms.get(conn);
    if (r === undefined) {
      r = seededRandom(options.seed * 1000 + conn);
      randoms.set(conn, r);
    }
    return r;
  };
  const fileUrl = (path: string) => `${apiUrl}/v1/users/${owner}/files/${path}`;

  async function call(
    op: string,
    idempotent: boolean,
    url: string,
    init: RequestInit,
  ): Promise<{ res?: Response; body?: Buffer; status: number }> {
    let status = 0;
    let retryAfter = false;
    let detail: string | undefined;
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
      status = res.status;
      retryAfter = /^\d+$/.test(res.headers.get('retry-after') ?? '');
      const body = Buffer.from(await res.arrayBuffer());
      if (status >= 400) detail = body.toString('utf8').slice(0, 300);
      tally.record(
        { op, status, idempotent, retryAfter, at: (performance.now() - options.startedAt()) / 1000 },
        detail,
      );
      return { res, body, status };
    } catch (error) {
      // fetch's "fetch failed" carries the reason (ECONNRESET, other side closed...) in its cause.
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const reason = cause === undefined ? '' : `: ${String(cause.code ?? cause.message)}`;
      tally.record(
        {
          op,
          status: 0,
          idempotent,
          retryAfter,
          at: (performance.now() - options.startedAt()) / 1000,
        },
        `${(error as Error).message}${reason}${status === 0 ? '' : ` (after a ${status} answer began)`}`,
      );
      return { status: 0 };
    }
  }

  const { large } = options;
  /** Seconds since the start of the load. */
  const now = () => (performance.now() - options.startedAt()) / 1000;

  /**
   * A GET of the large file, read as a stream and hashed: its bytes must be the ledger's, whole, even
   * when the worker serving it is killed (the api reopens the download on another one).
   */
  async function longDownload(op: string): Promise<OpResult> {
    const started = now();
    const hash = createHash('sha256');
    let status = 0;
    let bytes = 0;
    let retryAfter = false;
    let detail: string | undefined;
    try {
      const res = await fetch(fileUrl(LONG_DOWNLOAD_PATH), {
        headers: auth,
        signal: AbortSignal.timeout(120_000),
      });
      status = res.status;
      retryAfter = /^\d+$/.test(res.headers.get('retry-after') ?? '');
      if (status === 200 && res.body !== null) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          bytes += chunk.length;
        }
      } else detail = (await res.text()).slice(0, 300);
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const reason = cause === undefined ? '' : `: ${String(cause.code ?? cause.message)}`;
      detail = `${(error as Error).message}${reason} after ${bytes} bytes${status === 0 ? '' : ` of a ${status} answer`}`;
      status = 0;
    }
    if (status === 200) {
      const check = ledger.check(LONG_DOWNLOAD_PATH, hash.digest('hex'));
      if (!check.ok) tally.wrongReads.push(check);
    }
    tally.record({ op, status, idempotent: true, retryAfter, at: started }, detail);
    tally.transfers.push({ op, startS: started, endS: now(), bytes, ok: status === 200, retries: 0 });
    return { status, bytes };
  }

  const pathOf = (conn: number, k: number) => `chaos/c${conn}/f${k}.bin`;
  const existing = (conn: number) =>
    Array.from({ length: perConnection }, (_, k) => pathOf(conn, k)).filter((p) => ledger.certainlyExists(p));

  function operation(conn: number, seq: number): { name: string; run: () => Promise<OpResult> } {
    const random = randomOf(conn);
    let name: OpName = pick(random, large === undefined ? MIX : LARGE_MIX);
    if (large !== undefined && conn === 0) name = 'resumable';
    if (large !== undefined && conn === 1) name = 'long-download';
    const files = existing(conn);
    const anyPath = pathOf(conn, Math.floor(random() * perConnection));
    const present = files[Math.floor(random() * files.length)];
    if (['get', 'metadata', 'head', 'list', 'patch', 'delete'].includes(name) && present === undefined)
      name = 'put';
    const target = present as string;

    switch (name) {
      case 'get':
        return {
          name,
          run: async () => {
            const { body, status } = await call(name, true, fileUrl(target), { headers: auth });
            if (status === 200 && body !== undefined) {
              const check = ledger.check(target, sha256(body));
              if (!check.ok) tally.wrongReads.push(check);
            }
            return { status, bytes: body?.length ?? 0 };
          },
        };
      case 'metadata':
        return { name, run: async () => call(name, true, `${fileUrl(target)}?metadata`, { headers: auth }) };
      case 'head':
        return {
          name,
          run: async () => call(name, true, fileUrl(target), { method: 'HEAD', headers: auth }),
        };
      case 'list':
        return { name, run: async () => call(name, true, fileUrl(`chaos/c${conn}/`), { headers: auth }) };
      case 'profile':
        return { name, run: async () => call(name, true, `${apiUrl}/v1/users/${owner}`, { headers: auth }) };
      case 'put': {
        const body = randomBytes(bodySize(random));
        return {
          name,
          run: async () => {
            const { res, status } = await call(name, true, fileUrl(anyPath), {
              method: 'PUT',
              headers: { ...auth, 'content-type': 'application/octet-stream' },
              body,
            });
            const ok = status === 200 || status === 201;
            ledger.record(anyPath, sha256(body), ok, res?.headers.get('etag') ?? undefined);
            return { status, bytes: body.length };
          },
        };
      }
      case 'patch': {
        const etag = ledger.etagOf(target);
        return {
          name,
          run: async () => {
            // Conditional (If-Match), hence idempotent: it cannot apply twice.
            const { res, status } = await call(name, etag !== undefined, fileUrl(target), {
              method: 'PATCH',
              headers: {
                ...auth,
                'content-type': 'application/merge-patch+json',
                ...(etag === undefined ? {} : { 'if-match': etag }),
              },
              body: JSON.stringify({ description: `patched by ${conn}/${seq}` }),
            });
            ledger.recordMetadata(
              target,
              status === 200 ? (res?.headers.get('etag') ?? undefined) : undefined,
            );
            return { status };
          },
        };
      }
      case 'delete':
        return {
          name,
          run: async () => {
            const { status } = await call(name, true, fileUrl(target), { method: 'DELETE', headers: auth });
            ledger.record(target, ABSENT, status === 204);
            return { status };
          },
        };
      case 'resumable': {
        const [min, max] = large?.uploadBytes ?? [MiB, 2 * MiB];
        const body = randomBytes(min + Math.floor(random() * (max - min)));
        return {
          name,
          run: async () => {
            const started = now();
            let retries = 0;
            let detail: string | undefined;
            const status = await new Promise<number>((resolve) => {
              const upload = new tus.Upload(body, {
                endpoint: `${apiUrl}/v1/users/${owner}/uploads/`,
                headers: auth,
                metadata: { path: anyPath },
                chunkSize: large?.patchBytes ?? MiB,
                retryDelays: [200, 500, 1000, 2000, 4000, 8000],
                storeFingerprintForResuming: false,
                // tus-js-client's own rule (retry unless a 4xx other than 409 and 423), counted.
                onShouldRetry: (error) => {
                  const status = error.originalResponse?.getStatus() ?? 0;
                  const retry = status < 400 || status >= 500 || status === 409 || status === 423;
                  if (retry) retries++;
                  return retry;
                },
                onSuccess: () => resolve(201),
                onError: (error) => {
                  detail = error.message.slice(0, 300);
                  resolve(
                    error instanceof tus.DetailedError ? (error.originalResponse?.getStatus() ?? 0) : 0,
                  );
                },
              });
              upload.start();
            });
            ledger.record(anyPath, sha256(body), status === 201, undefined);
            tally.record({ op: name, status, idempotent: true, retryAfter: false, at: started }, detail);
            tally.transfers.push({
              op: name,
              startS: started,
              endS: now(),
              bytes: body.length,
              ok: status === 201,
              retries,
            });
            return { status, bytes: body.length };
          },
        };
      }
      case 'long-download':
        return { name, run: () => longDownload(name) };
      default: {
        const keyed = name === 'post-keyed';
        const body = randomBytes(512 + Math.floor(random() * 4096));
        return {
          name,
          run: async () => {
            const { res, status } = await call(name, keyed, fileUrl(`chaos/c${conn}/inbox/`), {
              method: 'POST',
              headers: {
                ...auth,
                'content-type': 'application/octet-stream',
                ...(keyed ? { 'idempotency-key': `"${owner}-${conn}-${seq}"` } : {}),
              },
              body,
            });
            const location = res?.headers.get('location');
            if (status === 201 && location) ledger.created.push({ location, sha256: sha256(body) });
            return { status, bytes: body.length };
          },
        };
      }
    }
  }

  return {
    notices: [],
    next: (conn, seq): Op => operation(conn, seq),
    teardown: async () => undefined,
  };
}
