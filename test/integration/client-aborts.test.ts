/**
 * A client that goes away mid-request (an upload cut mid-body, a reset socket, a download abandoned) is
 * the client's doing, not the api's: no 5xx recorded, no error-level log a hostile client could flood,
 * one info line with the request id, counted in podstore_api_client_aborts_total; and the api goes on
 * serving. Real processes on MinIO.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { logRecords, startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let stack: LocalStack;
let base: URL;
let token = '';

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 1,
    env: {
      ...minioEnv(minio, 'client-aborts'),
    },
  });
  base = new URL(stack.apiUrl);
  token = await signUp(stack.apiUrl, 'alice');
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends a request's head and `sent` bytes of a body that declares `declared`, waits, then goes away:
 * `end` closes the socket (FIN after a destroy), `reset` sends an RST.
 */
async function abortMidBody(
  method: string,
  path: string,
  headers: Record<string, string>,
  declared: number,
  sent: number,
  how: 'close' | 'reset',
  requestId: string,
): Promise<string> {
  const socket = net.connect(Number(base.port), base.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString();
  });
  const head = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${base.host}`,
    `Content-Length: ${declared}`,
    `X-Request-Id: ${requestId}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, 0x61));
  await sleep(300);
  if (how === 'reset') socket.resetAndDestroy();
  else socket.destroy();
  return answer;
}

/** Opens a download and goes away after its first bytes. */
async function abandonDownload(path: string, requestId: string): Promise<number> {
  const socket = net.connect(Number(base.port), base.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${base.host}\r\nAuthorization: Bearer ${token}\r\nX-Request-Id: ${requestId}\r\n\r\n`,
  );
  let received = 0;
  await new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > 64 * 1024) resolve();
    }),
  );
  socket.pause();
  socket.resetAndDestroy();
  return received;
}

const metricValue = (metrics: string, name: string) =>
  [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
/** The api's 5xx answers, by series. */
const fiveXX = (metrics: string) =>
  Object.fromEntries(
    [...metrics.matchAll(/^(podstore_api_requests_total\{[^}]*status="5\d\d"[^}]*\}) (\d+)/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]),
  );
const metrics = async () => (await fetch(new URL('/metrics', base))).text();

describe('clients that go away mid-request', () => {
  it('cost no 5xx and no error log, are counted, and the api keeps serving', async () => {
    const before = await metrics();
    const abortsBefore = metricValue(before, 'podstore_api_client_aborts_total');
    const auth = `Bearer ${token}`;
    const ids: string[] = [];
    const cuts: Promise<string>[] = [];
    for (let i = 0; i < 6; i++) {
      const id = `abort-upload-${i}`;
      ids.push(id);
      cuts.push(
        abortMidBody(
          i % 2 === 0 ? 'PUT' : 'POST',
          i % 2 === 0 ? `/v1/users/alice/files/cut/${i}.bin` : '/v1/users/alice/files/cut/',
          { Authorization: auth, 'Content-Type': 'application/octet-stream' },
          4 * 1024 * 1024,
          200 * 1024,
          i < 3 ? 'close' : 'reset',
          id,
        ),
      );
    }
    // A JSON body (a profile) cut short, by an unauthenticated sign-up and by the account's owner.
    ids.push('abort-json-0', 'abort-json-1');
    cuts.push(
      abortMidBody(
        'PUT',
        '/v1/users/bob',
        { 'Content-Type': 'application/json' },
        4096,
        10,
        'reset',
        'abort-json-0',
      ),
      abortMidBody(
        'PUT',
        '/v1/users/alice',
        { Authorization: auth, 'Content-Type': 'application/json' },
        4096,
        10,
        'close',
        'abort-json-1',
      ),
    );
    const answers = await Promise.all(cuts);
    for (const answer of answers) expect(answer).not.toMatch(/^HTTP\/1\.1 5/);

    // A download abandoned after its first bytes.
    const big = Buffer.alloc(4 * 1024 * 1024, 0x62);
    const put = await fetch(new URL('/v1/users/alice/files/big.bin', base), {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/octet-stream' },
      body: big,
    });
    expect(put.status).toBe(201);
    ids.push('abort-download-0');
    expect(await abandonDownload('/v1/users/alice/files/big.bin', 'abort-download-0')).toBeGreaterThan(0);

    // Every cut request has ended at the api (anything it logs about it, logged) before we look.
    const until = Date.now() + 15_000;
    const logs = () => logRecords(stack.api?.lines ?? []);
    const ended = (id: string) => logs().some((r) => r.requestId === id);
    while (Date.now() < until && !ids.every(ended)) await sleep(200);
    await sleep(500);

    // The api goes on serving.
    const profile = await fetch(new URL('/v1/users/alice', base), { headers: bearer(token) });
    expect(profile.status).toBe(200);
    const listing = await fetch(new URL('/v1/users/alice/files/', base), { headers: bearer(token) });
    expect(listing.status).toBe(200);

    const after = await metrics();
    // No 5xx recorded for any of it (a /readyz 503 while the stack started is from before).
    expect(fiveXX(after)).toEqual(fiveXX(before));
    // Every cut request counted as a client abort, the abandoned download while its answer was sent.
    expect(metricValue(after, 'podstore_api_client_aborts_total') - abortsBefore).toBe(ids.length);
    expect(
      metricValue(after, 'podstore_api_client_aborts_total\\{phase="response"\\}') -
        metricValue(before, 'podstore_api_client_aborts_total\\{phase="response"\\}'),
    ).toBe(1);

    const records = logs();
    // Nothing of it at error (50) or warn (40) level...
    const loud = records.filter((r) => Number(r.level) >= 40 && ids.includes(String(r.requestId ?? '')));
    expect(loud).toEqual([]);
    expect(records.filter((r) => r.msg === 'unhandled error')).toEqual([]);
    // ...and each cut request logged once as an abort, with its request id.
    for (const id of ids) {
      const aborts = records.filter((r) => r.requestId === id && r.msg === 'client went away');
      expect(aborts, id).toHaveLength(1);
      expect(Number(aborts[0]?.level)).toBeLessThanOrEqual(30);
    }
  }, 60_000);
});
