/**
 * Resumable uploads (tus 1.0) against the real stack and real MinIO: tus-js-client, a third-party
 * client, unchanged; the protocol's answers for bad requests; who may touch an upload (its creator
 * only, within what the pod's owner granted); expiry; `podstore put` going on after a killed run; and
 * a 1 GiB upload whose connection is cut three times and whose worker is SIGKILLed, completed byte for
 * byte, then downloaded whole although the worker serving it is SIGKILLed mid-way; then the same
 * 1 GiB upload by `podstore put` (the CLI as a user runs it), completed in one run.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client as MinioClient } from 'minio';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minioEnv } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import {
  type ChaosMinio,
  killStreamingWorker,
  killStreamingWorkerOnce,
  metric,
  startChaosMinio,
  startChaosStack,
  waitFor,
  workerMetricsUrl,
} from '../helpers/chaos.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { seededStream, writeSeededFile } from '../helpers/seeded-bytes.ts';

const MiB = 1024 * 1024;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const b64 = (text: string) => Buffer.from(text).toString('base64');
const TUS = { 'tus-resumable': '1.0.0' };

let minio: ChaosMinio;

beforeAll(async () => {
  minio = await startChaosMinio();
}, 60_000);

afterAll(async () => {
  await minio?.stop();
});

/** Uploads `body` with tus-js-client; resolves to the upload URL once it reports success. */
function tusUpload(
  endpoint: string,
  token: string,
  body: Buffer | Readable,
  options: { size: number; path: string; chunkSize?: number; filetype?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(body, {
      endpoint,
      headers: bearer(token),
      metadata: { path: options.path, filetype: options.filetype ?? 'application/octet-stream' },
      uploadSize: options.size,
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      retryDelays: [0, 250, 500, 1000, 2000, 2000, 4000, 4000],
      removeFingerprintOnSuccess: true,
      onError: reject,
      onSuccess: () => resolve(upload.url as string),
    });
    upload.start();
  });
}

describe('tus uploads', () => {
  let stack: LocalStack;
  let base: string;
  const tokens: Record<string, string> = {};
  const uploads = (owner: string) => `${base}/v1/users/${owner}/uploads/`;

  beforeAll(async () => {
    stack = await startChaosStack({
      workers: 2,
      env: { ...minioEnv(minio, 'tus-basics'), UPLOAD_SEGMENT_BYTES: String(MiB), UPLOADS_PER_CALLER: '3' },
    });
    base = stack.apiUrl;
    for (const name of ['patient', 'hospital', 'stranger']) tokens[name] = await signUp(base, name);
    const grant = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'PUT',
      headers: { ...bearer(tokens.patient as string), 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/medical/' }),
    });
    expect(grant.status).toBeLessThan(300);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop('SIGKILL');
  });

  const create = (
    owner: string,
    token: string,
    length: number,
    path: string,
    extra: Record<string, string> = {},
  ) =>
    fetch(uploads(owner), {
      method: 'POST',
      headers: {
        ...TUS,
        ...bearer(token),
        'upload-length': String(length),
        'upload-metadata': `path ${b64(path)},filetype ${b64('text/plain')}`,
        ...extra,
      },
    });
  const patch = (
    url: string,
    token: string,
    offset: number,
    body: Buffer,
    extra: Record<string, string> = {},
  ) =>
    fetch(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...bearer(token),
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        ...extra,
      },
      body,
    });
  const head = (url: string, token: string) =>
    fetch(url, { method: 'HEAD', headers: { ...TUS, ...bearer(token) } });
  const read = (owner: string, path: string, token: string) =>
    fetch(`${base}/v1/users/${owner}/files/${path}`, { headers: bearer(token) });

  it('says what it serves on OPTIONS, without a token', async () => {
    const res = await fetch(uploads('patient'), { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    expect(res.headers.get('tus-extension')?.split(',')).toEqual(
      expect.arrayContaining(['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']),
    );
    expect(Number(res.headers.get('tus-max-size'))).toBeGreaterThan(0);
  });

  it('takes a file from tus-js-client, in several PATCHes, and serves it as a file', async () => {
    const body = randomBytes(5 * MiB + 123);
    const url = await tusUpload(uploads('patient'), tokens.patient as string, body, {
      size: body.length,
      path: '/scans/knee.bin',
      chunkSize: 2 * MiB,
    });
    expect(url).toMatch(/\/v1\/users\/patient\/uploads\/[0-9a-f-]{36}$/);
    const got = await read('patient', 'scans/knee.bin', tokens.patient as string);
    expect(got.status).toBe(200);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(body));
    const done = await head(url, tokens.patient as string);
    expect([done.status, done.headers.get('upload-offset'), done.headers.get('content-location')]).toEqual([
      200,
      String(body.length),
      '/v1/users/patient/files/scans/knee.bin',
    ]);
  });

  it('answers the protocol: 412 for another version, 409 at the wrong offset, 415, 460 for a bad checksum', async () => {
    const wrongVersion = await fetch(uploads('patient'), {
      method: 'POST',
      headers: { ...bearer(tokens.patient as string), 'tus-resumable': '0.2.2', 'upload-length': '3' },
    });
    expect([wrongVersion.status, wrongVersion.headers.get('tus-version')]).toEqual([412, '1.0.0']);
    const created = await create('patient', tokens.patient as string, 6, 'notes/a.txt');
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location') as string, base).href;
    expect((await patch(url, tokens.patient as string, 3, Buffer.from('def'))).status).toBe(409);
    const untyped = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...bearer(tokens.patient as string),
        'upload-offset': '0',
        'content-type': 'text/plain',
      },
      body: 'abc',
    });
    expect(untyped.status).toBe(415);
    const bad = await patch(url, tokens.patient as string, 0, Buffer.from('abc'), {
      'upload-checksum': `sha1 ${createHash('sha1').update('xyz').digest('base64')}`,
    });
    expect(bad.status).toBe(460);
    expect((await head(url, tokens.patient as string)).headers.get('upload-offset')).toBe('0');
    const good = await patch(url, tokens.patient as string, 0, Buffer.from('abc'), {
      'upload-checksum': `sha1 ${createHash('sha1').update('abc').digest('base64')}`,
    });
    expect([good.status, good.headers.get('upload-offset')]).toEqual([204, '3']);
    expect((await patch(url, tokens.patient as string, 3, Buffer.from('defg'))).status).toBe(413);
    const last = await patch(url, tokens.patient as string, 3, Buffer.from('def'));
    expect([last.status, last.headers.get('upload-offset')]).toEqual([204, '6']);
    expect(await (await read('patient', 'notes/a.txt', tokens.patient as string)).text()).toBe('abcdef');
    // A small upload whose name is a folder, or lies under a file, is refused at its creation (not at
    // its last byte): the client learns before it sends anything.
    expect((await create('patient', tokens.patient as string, 3, 'notes')).status).toBe(409);
    expect((await create('patient', tokens.patient as string, 3, 'notes/a.txt/inner')).status).toBe(409);
    expect((await create('patient', tokens.patient as string, 3, '../x')).status).toBe(400);
    expect(
      (await create('patient', tokens.patient as string, 3, 'x', { 'upload-length': 'lots' })).status,
    ).toBe(400);
  });

  it('lets only its creator near an upload: anyone else, granted or not, gets 404', async () => {
    const created = await create('patient', tokens.hospital as string, 4, 'medical/lab.txt');
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location') as string, base).href;
    for (const who of ['patient', 'stranger']) {
      expect((await head(url, tokens[who] as string)).status).toBe(404);
      expect((await patch(url, tokens[who] as string, 0, Buffer.from('evil'))).status).toBe(404);
      const del = await fetch(url, {
        method: 'DELETE',
        headers: { ...TUS, ...bearer(tokens[who] as string) },
      });
      expect(del.status).toBe(404);
    }
    expect((await head(url, tokens.hospital as string)).headers.get('upload-offset')).toBe('0');
  });

  it('writes what a PUT may write: an append grantee adds a sealed result, and may not replace it', async () => {
    const created = await create('patient', tokens.hospital as string, 11, 'medical/result.txt');
    const url = new URL(created.headers.get('location') as string, base).href;
    expect((await patch(url, tokens.hospital as string, 0, Buffer.from('HbA1c 5.4 %'))).status).toBe(204);
    const file = await read('patient', 'medical/result.txt', tokens.patient as string);
    expect([file.status, file.headers.get('x-podstore-author'), await file.text()]).toEqual([
      200,
      'hospital',
      'HbA1c 5.4 %',
    ]);
    // The hospital may not replace it, the patient may not alter it, a stranger may not start one.
    expect((await create('patient', tokens.hospital as string, 3, 'medical/result.txt')).status).toBe(403);
    expect((await create('patient', tokens.patient as string, 3, 'medical/result.txt')).status).toBe(403);
    expect([403, 404]).toContain((await create('patient', tokens.stranger as string, 3, 'x.txt')).status);
    expect((await create('patient', tokens.hospital as string, 3, 'elsewhere.txt')).status).toBe(403);
  });

  it('takes no more bytes from a grantee whose grant was revoked meanwhile', async () => {
    const created = await create('patient', tokens.hospital as string, 12, 'medical/late.txt');
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location') as string, base).href;
    expect((await patch(url, tokens.hospital as string, 0, Buffer.from('part'))).status).toBe(204);
    const revoke = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'DELETE',
      headers: bearer(tokens.patient as string),
    });
    expect(revoke.status).toBe(204);
    const refused = await patch(url, tokens.hospital as string, 4, Buffer.from(' two'));
    expect([403, 404]).toContain(refused.status);
    // The revocation dropped the upload with its bytes (and the room it held in the pod).
    expect((await head(url, tokens.hospital as string)).status).toBe(404);
    expect((await read('patient', 'medical/late.txt', tokens.patient as string)).status).toBe(404);
    // A grant that runs out changes nothing stored, so nothing drops the upload then: each PATCH checks.
    const brief = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'PUT',
      headers: { ...bearer(tokens.patient as string), 'content-type': 'application/json' },
      body: JSON.stringify({
        modes: ['append'],
        scope: '/medical/',
        expiresAt: new Date(Date.now() + 3000).toISOString(),
      }),
    });
    expect(brief.status).toBeLessThan(300);
    const again = await create('patient', tokens.hospital as string, 12, 'medical/later.txt');
    expect(again.status).toBe(201);
    const later = new URL(again.headers.get('location') as string, base).href;
    expect((await patch(later, tokens.hospital as string, 0, Buffer.from('part'))).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect([403, 404]).toContain(
      (await patch(later, tokens.hospital as string, 4, Buffer.from(' two'))).status,
    );
    expect((await read('patient', 'medical/later.txt', tokens.patient as string)).status).toBe(404);
    // Granted again for the tests that follow.
    const grant = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'PUT',
      headers: { ...bearer(tokens.patient as string), 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/medical/' }),
    });
    expect(grant.status).toBeLessThan(300);
  });

  it('podstore put goes on where a killed run stopped (the upload kept in its state file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'podstore-resume-'));
    const proxy = await startCuttingProxy(new URL(base), []);
    try {
      const data = randomBytes(40 * MiB);
      const local = join(dir, 'scan.bin');
      await writeFile(local, data);
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        XDG_STATE_HOME: join(dir, 'state'),
        PODSTORE_URL: proxy.url,
        PODSTORE_TOKEN: tokens.patient as string,
      };
      const put = () =>
        spawn(
          process.execPath,
          ['--import', 'tsx', 'client/main.ts', '--json', 'put', local, 'patient/scans/big.bin'],
          {
            cwd: repoRoot,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
      // The first run stalls after about half the file, and is killed.
      proxy.holdAfter(20 * MiB);
      const first = put();
      await waitFor('half the file sent', async () =>
        proxy.bytes >= 20 * MiB - 64 * 1024 ? true : undefined,
      );
      first.kill('SIGKILL');
      await once(first, 'close');
      const state = JSON.parse(
        await readFile(join(dir, 'state', 'podstore', 'uploads.json'), 'utf8'),
      ) as Record<string, { uploadUrl: string }>;
      const [entry] = Object.values(state);
      const url = new URL(entry?.uploadUrl as string, base).href;
      const kept = Number((await head(url, tokens.patient as string)).headers.get('upload-offset'));
      // What reached a worker before the drop is kept (less than was sent: some was still in buffers).
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(data.length);
      // The second run goes on from there: it sends only the rest.
      proxy.release();
      const before = proxy.bytes;
      const second = put();
      const out: Buffer[] = [];
      second.stdout?.on('data', (c: Buffer) => out.push(c));
      const [code] = await once(second, 'close');
      expect(code).toBe(0);
      const printed = JSON.parse(Buffer.concat(out).toString()) as {
        size: number;
        sha256: string;
        resumed: boolean;
      };
      expect(printed).toMatchObject({ size: data.length, sha256: sha256(data), resumed: true });
      expect(proxy.bytes - before).toBeLessThan(data.length - kept + MiB);
      const got = await read('patient', 'scans/big.bin', tokens.patient as string);
      expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
      // Done: the state file forgets it.
      const after = JSON.parse(
        await readFile(join(dir, 'state', 'podstore', 'uploads.json'), 'utf8'),
      ) as object;
      expect(Object.keys(after)).toEqual([]);
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('drops an upload on DELETE, and limits the unfinished uploads of one caller in one pod', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await create('stranger', tokens.stranger as string, 10, `limit/${i}.txt`);
      if (res.status === 201) made.push(new URL(res.headers.get('location') as string, base).href);
    }
    const over = await create('stranger', tokens.stranger as string, 10, 'limit/over.txt');
    expect(over.status).toBe(409);
    const url = made[0] as string;
    const del = await fetch(url, {
      method: 'DELETE',
      headers: { ...TUS, ...bearer(tokens.stranger as string) },
    });
    expect(del.status).toBe(204);
    expect((await head(url, tokens.stranger as string)).status).toBe(404);
    expect((await create('stranger', tokens.stranger as string, 10, 'limit/again.txt')).status).toBe(201);
  });
});

describe('tus uploads that expire', () => {
  let stack: LocalStack;
  let base: string;
  let token: string;
  const bucket = 'tus-expiry';

  beforeAll(async () => {
    stack = await startChaosStack({
      workers: 1,
      env: {
        ...minioEnv(minio, bucket),
        UPLOAD_EXPIRY_S: '2',
        UPLOAD_SWEEP_MS: '300',
        UPLOAD_SEGMENT_BYTES: '65536',
      },
    });
    base = stack.apiUrl;
    token = await signUp(base, 'forgetful');
  }, 90_000);

  afterAll(async () => {
    await stack?.stop('SIGKILL');
  });

  it('removes an abandoned upload and every byte of it once it expires', async () => {
    const created = await fetch(`${base}/v1/users/forgetful/uploads/`, {
      method: 'POST',
      headers: {
        ...TUS,
        ...bearer(token),
        'upload-length': String(MiB),
        'upload-metadata': `path ${b64('half.bin')}`,
        'content-type': 'application/offset+octet-stream',
      },
      body: randomBytes(300 * 1024),
    });
    expect([created.status, created.headers.get('upload-offset')]).toEqual([201, String(300 * 1024)]);
    const expires = Date.parse(created.headers.get('upload-expires') as string);
    expect(expires).toBeGreaterThan(Date.now() - 1000);
    const url = new URL(created.headers.get('location') as string, base).href;
    const s3 = new MinioClient({
      endPoint: '127.0.0.1',
      port: Number(new URL(minio.endpoint).port),
      useSSL: false,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
    });
    const keys = async (prefix: string) => {
      const out: string[] = [];
      for await (const item of s3.listObjectsV2(bucket, prefix, true)) if (item.name) out.push(item.name);
      return out;
    };
    expect((await keys('users/forgetful/uploads/')).length).toBeGreaterThan(1);
    const reserved = async () =>
      (
        (await (await fetch(`${base}/v1/users/forgetful/quota`, { headers: bearer(token) })).json()) as {
          reserved: { bytes: number };
        }
      ).reserved.bytes;
    expect(await reserved()).toBe(MiB); // the room the upload holds until it completes or expires
    await waitFor('the expired upload swept', async () =>
      (await keys('users/forgetful/uploads/')).length === 0 && (await keys('upload-expiries/')).length === 0
        ? true
        : undefined,
    );
    const gone = await fetch(url, { method: 'HEAD', headers: { ...TUS, ...bearer(token) } });
    expect(gone.status).toBe(404);
    expect(await reserved()).toBe(0);
    expect(await metric(workerMetricsUrl(stack, 0), 'podstore_worker_expired_uploads_removed_total')).toBe(1);
  }, 60_000);
});

describe('1 GiB through a network that drops and workers that die', () => {
  let stack: LocalStack;
  let token: string;
  /** The sha256 of what the upload test sent, once it succeeded. */
  let uploaded: string | undefined;
  const SIZE = 1024 * MiB;
  /** Where the proxy cuts the connection, in bytes sent through it; the worker is killed past 560 MiB. */
  const CUTS = [150 * MiB, 420 * MiB, 760 * MiB];
  const KILL_AFTER = 560 * MiB;

  beforeAll(async () => {
    stack = await startChaosStack({
      workers: 3,
      // Replacements: for the worker killed by each upload test, and for the one the download test kills.
      spareWorkers: 3,
      env: { ...minioEnv(minio, 'tus-chaos') },
    });
    token = await signUp(stack.apiUrl, 'scanner');
  }, 90_000);

  afterAll(async () => {
    await stack?.stop('SIGKILL');
  });

  /** The sha256 of a download, read as a stream. */
  async function downloadSha256(path: string): Promise<{ bytes: number; sha256: string }> {
    const got = await fetch(`${stack.apiUrl}/v1/users/scanner/files/${path}`, { headers: bearer(token) });
    expect(got.status).toBe(200);
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of got.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { bytes, sha256: hash.digest('hex') };
  }

  it('completes with the right sha256 after three cuts and a SIGKILLed worker', async () => {
    const { stream, sha256: expected } = seededStream(SIZE, 1);
    const proxy = await startCuttingProxy(new URL(stack.apiUrl), CUTS);
    const killer = killStreamingWorkerOnce(stack, () => proxy.bytes >= KILL_AFTER);
    try {
      await tusUpload(`${proxy.url}/v1/users/scanner/uploads/`, token, stream, {
        size: SIZE,
        path: 'scans/mri.bin',
        chunkSize: 64 * MiB,
      });
    } finally {
      killer.stop();
      await proxy.close();
    }
    expect(proxy.cuts).toBe(3);
    expect(killer.killed).toBeGreaterThanOrEqual(0);
    uploaded = expected();
  }, 300_000);

  it('serves it back whole although the worker streaming it is SIGKILLed mid-way', async () => {
    expect(uploaded).toBeDefined();
    const got = await fetch(`${stack.apiUrl}/v1/users/scanner/files/scans/mri.bin`, {
      headers: bearer(token),
    });
    expect(got.status).toBe(200);
    const hash = createHash('sha256');
    let bytes = 0;
    let killed: number | undefined;
    for await (const chunk of got.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.length;
      // The one worker with a stream in flight is the one serving this download.
      if (killed === undefined && bytes >= 300 * MiB) killed = await killStreamingWorker(stack);
    }
    expect(killed).toBeGreaterThanOrEqual(0);
    expect({ bytes, sha256: hash.digest('hex') }).toEqual({ bytes: SIZE, sha256: uploaded });
  }, 300_000);

  it('podstore put gets 1 GiB through the same three cuts and a SIGKILLed worker in one run', async () => {
    // The replacement for the worker the download test killed: two live workers again.
    stack.addWorker();
    const dir = await mkdtemp(join(tmpdir(), 'podstore-cli-1g-'));
    const proxy = await startCuttingProxy(new URL(stack.apiUrl), CUTS);
    try {
      const local = join(dir, 'ct.bin');
      const expected = await writeSeededFile(local, SIZE, 2);
      const killer = killStreamingWorkerOnce(stack, () => proxy.bytes >= KILL_AFTER);
      const run = spawn(
        process.execPath,
        ['--import', 'tsx', 'client/main.ts', '--json', 'put', local, 'scanner/scans/ct.bin'],
        {
          cwd: repoRoot,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: dir,
            XDG_STATE_HOME: join(dir, 'state'),
            PODSTORE_URL: proxy.url,
            PODSTORE_TOKEN: token,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      run.stdout?.on('data', (c: Buffer) => out.push(c));
      run.stderr?.on('data', (c: Buffer) => err.push(c));
      let code: unknown;
      try {
        [code] = await once(run, 'close');
      } finally {
        killer.stop();
      }
      expect({ code, stderr: Buffer.concat(err).toString().slice(-2000) }).toEqual({ code: 0, stderr: '' });
      expect(proxy.cuts).toBe(3);
      expect(killer.killed).toBeGreaterThanOrEqual(0);
      const printed = JSON.parse(Buffer.concat(out).toString()) as { size: number; sha256: string };
      expect(printed).toMatchObject({ size: SIZE, sha256: expected, resumed: false });
      expect(await downloadSha256('scans/ct.bin')).toEqual({ bytes: SIZE, sha256: expected });
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
