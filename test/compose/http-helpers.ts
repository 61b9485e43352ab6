/**
 * HTTP for the compose test, through the proxy like any client: accounts, a streamed upload and
 * download of a large file hashed on the fly, and a load of idempotent requests that records every
 * answer that was not a success.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { bearer } from '../helpers/accounts.ts';
import { waitFor } from '../helpers/chaos.ts';

/** PUTs `size` pseudo-random bytes (made as they are sent, 1 MiB at a time); resolves with the answer and the bytes' sha256. */
export function putLarge(
  url: string,
  token: string,
  size: number,
): Promise<{ status: number; sha256: string }> {
  const hash = createHash('sha256');
  const block = randomBytes(1 << 20);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/octet-stream', 'content-length': size },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex') }));
    });
    let sent = 0;
    let counter = 0;
    const write = () => {
      while (sent < size) {
        // Every MiB differs (a counter in its first bytes), so no two parts of the file are alike.
        block.writeUInt32BE(counter++, 0);
        const part = block.subarray(0, Math.min(block.length, size - sent));
        hash.update(part);
        sent += part.length;
        if (!req.write(Buffer.from(part))) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

/** GETs `url` and hashes the body as it arrives. */
export function getHashed(
  url: string,
  token: string,
): Promise<{ status: number; bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: bearer(token) }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export interface LoadTally {
  requests: number;
  /** Every answer that was not a 2xx: what, when (seconds since the start) and why. */
  failures: { op: string; status: number; at: number; detail: string }[];
}

/**
 * Until `stop` resolves, `connections` loops each alternate a GET of a shared file (its bytes checked)
 * and a PUT of the loop's own file with the same bytes: requests that may run twice without harm, so
 * that the system must never fail one (it retries them itself when a worker goes away).
 */
export async function idempotentLoad(
  base: string,
  owner: string,
  token: string,
  connections: number,
  stop: Promise<unknown>,
): Promise<LoadTally> {
  const tally: LoadTally = { requests: 0, failures: [] };
  const shared = `${base}/v1/users/${owner}/files/load/shared.txt`;
  const content = 'the same bytes every time';
  const started = performance.now();
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const put = (url: string) =>
    fetch(url, { method: 'PUT', headers: { ...bearer(token), 'content-type': 'text/plain' }, body: content });
  const first = await put(shared);
  if (first.status !== 201 && first.status !== 200) throw new Error(`load set-up: ${first.status}`);
  const record = async (
    op: string,
    request: () => Promise<Response>,
    check: (r: Response, body: string) => boolean,
  ) => {
    tally.requests++;
    const at = Math.round((performance.now() - started) / 100) / 10;
    try {
      const res = await request();
      const body = await res.text();
      if (!check(res, body)) tally.failures.push({ op, status: res.status, at, detail: body.slice(0, 200) });
    } catch (error) {
      tally.failures.push({ op, status: 0, at, detail: String(error) });
    }
  };
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const own = `${base}/v1/users/${owner}/files/load/c${i}.txt`;
      while (!stopped) {
        await record(
          'get',
          () => fetch(shared, { headers: bearer(token) }),
          (r, b) => r.status === 200 && b === content,
        );
        await record(
          'put',
          () => put(own),
          (r) => r.status === 200 || r.status === 201,
        );
      }
    }),
  );
  return tally;
}

/** Polls `probe` every 250 ms until it returns true (test/helpers/chaos.ts waitFor); resolves with the ms it took. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<number> {
  const started = Date.now();
  await waitFor(what, async () => (await probe()) || undefined, timeoutMs, 250);
  return Date.now() - started;
}
