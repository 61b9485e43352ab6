/**
 * The IETF "Resumable Uploads for HTTP" draft (draft-ietf-httpbis-resumable-upload-11, interop
 * version 8) against the real stack and real MinIO, beside tus on the same worker-side uploads: a PUT
 * with Upload-Complete whose connection is cut (the client saw the 104 and its Location), offset
 * retrieval, the rest appended as application/partial-upload; the draft's problems; who may touch an
 * upload; a revoked grantee; If-None-Match: * held until the file is written (for tus too); and a
 * plain PUT unchanged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { waitFor } from '../helpers/chaos.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const DRAFT = { 'upload-draft-interop-version': '8' };
const PARTIAL = 'application/partial-upload';
const MISMATCH = 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset';

interface Informational {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
}

/**
 * A request with Node's own client, which reports interim answers ('information'). `cutAfter`: the
 * connection is destroyed once that many bytes of the body were written (resolves with no final answer).
 */
function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer,
  cutAfter?: number,
): Promise<{ interim: Informational[]; status?: number; headers?: http.IncomingHttpHeaders; text?: string }> {
  return new Promise((resolve, reject) => {
    const interim: Informational[] = [];
    const req = http.request(url, {
      method,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    req.on('information', (info) => interim.push({ statusCode: info.statusCode, headers: info.headers }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          interim,
          status: res.statusCode as number,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (cutAfter !== undefined) resolve({ interim });
      else reject(error);
    });
    void (async () => {
      const step = 256 * 1024;
      const end = cutAfter ?? body.length;
      for (let at = 0; at < end; at += step) {
        if (req.destroyed) return;
        if (!req.write(body.subarray(at, Math.min(at + step, end)))) await once(req, 'drain');
      }
      if (cutAfter === undefined) {
        req.end();
        return;
      }
      // Let the interim answer arrive if it is on its way, then cut the connection mid-body.
      await waitFor('the 104', async () => (interim.length > 0 ? true : undefined), 10_000).catch(() => {});
      req.destroy();
      resolve({ interim });
    })().catch(reject);
  });
}

describe('resumable uploads, the IETF draft', () => {
  let minio: MinioServer;
  let stack: LocalStack;
  let base: string;
  const tokens: Record<string, string> = {};
  const file = (owner: string, path: string) => `${base}/v1/users/${owner}/files/${path}`;
  const read = (owner: string, path: string, token: string) =>
    fetch(file(owner, path), { headers: bearer(token) });
  const head = (url: string, token: string) =>
    fetch(url, { method: 'HEAD', headers: { ...DRAFT, ...bearer(token) } });
  const append = (url: string, token: string, offset: number, body: Buffer, complete: boolean) =>
    fetch(url, {
      method: 'PATCH',
      headers: {
        ...DRAFT,
        ...bearer(token),
        'content-type': PARTIAL,
        'upload-offset': String(offset),
        'upload-complete': complete ? '?1' : '?0',
      },
      body,
    });
  /** Creation with Upload-Complete: ?0 and the first bytes; resolves to the upload's URL. */
  const open = async (
    owner: string,
    token: string,
    path: string,
    length: number,
    first: Buffer,
    extra: Record<string, string> = {},
  ) => {
    const res = await fetch(file(owner, path), {
      method: 'PUT',
      headers: {
        ...DRAFT,
        ...bearer(token),
        'content-type': 'text/plain',
        'upload-complete': '?0',
        'upload-length': String(length),
        ...extra,
      },
      body: first,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(res.headers.get('upload-complete')).toBe('?0');
    expect(res.headers.get('upload-offset')).toBe(String(first.length));
    return new URL(res.headers.get('location') as string, base).href;
  };

  beforeAll(async () => {
    minio = await startMinio();
    stack = await startTestStack({
      workers: 2,
      env: { ...minioEnv(minio, 'ietf-uploads'), UPLOAD_SEGMENT_BYTES: String(MiB) },
    });
    base = stack.apiUrl;
    for (const name of ['patient', 'hospital', 'stranger']) tokens[name] = await signUp(base, name);
    const grant = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'PUT',
      headers: { ...bearer(tokens.patient as string), 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/medical/' }),
    });
    expect(grant.status).toBeLessThan(300);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop('SIGKILL');
    await minio?.stop();
  });

  it('a PUT cut after 24 of 40 MiB: 104 with Location, HEAD, the rest appended, the file whole', async () => {
    const data = randomBytes(40 * MiB);
    const token = tokens.patient as string;
    const cut = await request(
      file('patient', 'scans/cut.bin'),
      'PUT',
      { ...DRAFT, ...bearer(token), 'upload-complete': '?1', 'content-type': 'application/octet-stream' },
      data,
      24 * MiB,
    );
    expect(cut.status).toBeUndefined();
    const [interim] = cut.interim;
    expect(interim?.statusCode).toBe(104);
    expect(interim?.headers['upload-draft-interop-version']).toBe('8');
    expect(interim?.headers['upload-limit']).toMatch(/max-size=\d+/);
    const location = interim?.headers.location as string;
    expect(location).toMatch(/^\/v1\/users\/patient\/uploads\/[0-9a-f-]{36}$/);
    const url = new URL(location, base).href;
    // The api goes on with what arrived; once the offset stops moving, the creation is over.
    let last = -1;
    const kept = await waitFor(
      'the offset to settle',
      async () => {
        const res = await head(url, token);
        expect(res.status).toBe(204);
        const offset = Number(res.headers.get('upload-offset'));
        const settled = offset === last && offset > 0;
        last = offset;
        if (!settled) await new Promise((r) => setTimeout(r, 300));
        return settled ? res : undefined;
      },
      30_000,
    );
    const offset = Number(kept.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(24 * MiB);
    expect([
      kept.headers.get('upload-complete'),
      kept.headers.get('upload-length'),
      kept.headers.get('cache-control'),
      kept.headers.get('tus-resumable'),
    ]).toEqual(['?0', String(data.length), 'no-store', null]);
    expect(await read('patient', 'scans/cut.bin', token).then((r) => r.status)).toBe(404);
    const done = await append(url, token, offset, data.subarray(offset), true);
    expect(done.status).toBe(201);
    expect(done.headers.get('upload-complete')).toBe('?1');
    expect(done.headers.get('etag')).toMatch(/^"/);
    expect(done.headers.get('location')).toBe('/v1/users/patient/files/scans/cut.bin');
    expect(((await done.json()) as { size: number }).size).toBe(data.length);
    const got = await read('patient', 'scans/cut.bin', token);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
    const after = await head(url, token);
    expect([after.headers.get('upload-complete'), after.headers.get('upload-offset')]).toEqual([
      '?1',
      String(data.length),
    ]);
  }, 120_000);

  it('a whole PUT with Upload-Complete: ?1 answers as a PUT does, after the 104', async () => {
    const token = tokens.patient as string;
    const res = await request(
      file('patient', 'notes/one.txt'),
      'PUT',
      { ...DRAFT, ...bearer(token), 'upload-complete': '?1', 'content-type': 'text/plain' },
      Buffer.from('in one go'),
    );
    expect(res.interim.map((i) => i.statusCode)).toEqual([104]);
    // The interim answer carries only its own fields; the final one has everything the hooks add.
    expect(Object.keys(res.interim[0]?.headers ?? {}).sort()).toEqual([
      'location',
      'upload-draft-interop-version',
      'upload-limit',
    ]);
    expect(res.status).toBe(201);
    expect(res.headers?.['upload-complete']).toBe('?1');
    expect(res.headers?.location).toBe('/v1/users/patient/files/notes/one.txt');
    expect(res.headers?.['x-request-id']).toBeTruthy();
    expect(res.headers?.['x-content-type-options']).toBe('nosniff');
    // Replacing it: 200, as a PUT.
    const again = await request(
      file('patient', 'notes/one.txt'),
      'PUT',
      { ...DRAFT, ...bearer(token), 'upload-complete': '?1' },
      Buffer.from('again'),
    );
    expect(again.status).toBe(200);
    expect(await (await read('patient', 'notes/one.txt', token)).text()).toBe('again');
    // No interop version: resumable all the same, but no 104 (the draft forbids it then).
    const quiet = await request(
      file('patient', 'notes/two.txt'),
      'PUT',
      { ...bearer(token), 'upload-complete': '?1' },
      Buffer.from('quiet'),
    );
    expect([quiet.interim.length, quiet.status, quiet.headers?.['upload-complete']]).toEqual([0, 201, '?1']);
    // Another interop version: no 104 either (the client would ignore it).
    const older = await request(
      file('patient', 'notes/three.txt'),
      'PUT',
      { ...bearer(token), 'upload-complete': '?1', 'upload-draft-interop-version': '7' },
      Buffer.from('older'),
    );
    expect([older.interim.length, older.status]).toEqual([0, 201]);
  });

  it('says on OPTIONS, without a token, that a file path takes resumable uploads', async () => {
    const res = await fetch(file('patient', 'scans/any.bin'), { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('accept-patch')?.split(/, */)).toContain(PARTIAL);
    expect(res.headers.get('upload-limit')).toMatch(/^max-size=\d+$/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const folder = await fetch(file('patient', 'scans/'), { method: 'OPTIONS' });
    expect([folder.status, folder.headers.get('upload-limit')]).toEqual([204, null]);
    expect(folder.headers.get('accept-patch')).not.toContain(PARTIAL);
  });

  it('a plain PUT without Upload-Complete is unchanged: no 104, no upload fields', async () => {
    const token = tokens.patient as string;
    const res = await request(
      file('patient', 'notes/plain.txt'),
      'PUT',
      { ...DRAFT, ...bearer(token), 'content-type': 'text/plain' },
      Buffer.from('plain'),
    );
    expect(res.interim).toEqual([]);
    expect(res.status).toBe(201);
    expect(res.headers?.['upload-complete']).toBeUndefined();
    // A malformed Upload-Complete is ignored, as the draft says: a plain PUT too.
    const odd = await request(
      file('patient', 'notes/plain.txt'),
      'PUT',
      { ...DRAFT, ...bearer(token), 'upload-complete': 'yes' },
      Buffer.from('plain 2'),
    );
    expect([odd.interim.length, odd.status, odd.headers?.['upload-complete']]).toEqual([0, 200, undefined]);
  });

  it('answers the draft: 409 with expected-offset, 415, 400 for no length, completed-upload, DELETE', async () => {
    const token = tokens.patient as string;
    const url = await open('patient', token, 'notes/parts.txt', 9, Buffer.from('abc'));
    const wrong = await append(url, token, 5, Buffer.from('fgh'), false);
    expect(wrong.status).toBe(409);
    expect(wrong.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(wrong.headers.get('upload-offset')).toBe('3');
    expect(wrong.headers.get('x-request-id')).toBeTruthy();
    expect(await wrong.json()).toMatchObject({
      type: MISMATCH,
      status: 409,
      'expected-offset': 3,
      'provided-offset': 5,
    });
    const untyped = await fetch(url, {
      method: 'PATCH',
      headers: { ...DRAFT, ...bearer(token), 'upload-offset': '3', 'upload-complete': '?0' },
      body: 'def',
    });
    expect(untyped.status).toBe(415);
    const noComplete = await fetch(url, {
      method: 'PATCH',
      headers: { ...bearer(token), 'content-type': PARTIAL, 'upload-offset': '3' },
      body: 'def',
    });
    expect(noComplete.status).toBe(400);
    const middle = await append(url, token, 3, Buffer.from('def'), false);
    expect([
      middle.status,
      middle.headers.get('upload-offset'),
      middle.headers.get('upload-complete'),
    ]).toEqual([204, '6', '?0']);
    const tooLong = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...bearer(token),
        'content-type': PARTIAL,
        'upload-offset': '6',
        'upload-complete': '?1',
        'upload-length': '10',
      },
      body: 'ghi',
    });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { type: string }).type).toMatch(/#inconsistent-upload-length$/);
    const last = await append(url, token, 6, Buffer.from('ghi'), true);
    expect([last.status, last.headers.get('upload-complete')]).toEqual([201, '?1']);
    expect(await (await read('patient', 'notes/parts.txt', token)).text()).toBe('abcdefghi');
    const again = await append(url, token, 9, Buffer.alloc(0), true);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { type: string }).type).toMatch(/#completed-upload$/);
    // No length known at creation (Upload-Complete: ?0, no Upload-Length): a clear 400, not a 500.
    const unknown = await fetch(file('patient', 'notes/unknown.txt'), {
      method: 'PUT',
      headers: { ...DRAFT, ...bearer(token), 'upload-complete': '?0' },
      body: 'abc',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { detail: string }).detail).toMatch(/Upload-Length/);
    // Cancellation.
    const other = await open('patient', token, 'notes/dropped.txt', 4, Buffer.from('ab'));
    expect((await fetch(other, { method: 'DELETE', headers: { ...DRAFT, ...bearer(token) } })).status).toBe(
      204,
    );
    expect((await head(other, token)).status).toBe(404);
    // The creation endpoint is tus's alone: the draft's header does not stand for Tus-Resumable there.
    const notTus = await fetch(`${base}/v1/users/patient/uploads/`, {
      method: 'POST',
      headers: { ...DRAFT, ...bearer(token), 'upload-length': '3' },
    });
    expect([notTus.status, notTus.headers.get('tus-version')]).toEqual([412, '1.0.0']);
    // tus still answers tus on the same resource.
    const tus = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', ...bearer(token) } });
    expect([tus.status, tus.headers.get('tus-resumable'), tus.headers.get('upload-offset')]).toEqual([
      200,
      '1.0.0',
      '9',
    ]);
  });

  it('lets only its creator near an upload: anyone else gets 404', async () => {
    const url = await open('patient', tokens.hospital as string, 'medical/lab.txt', 4, Buffer.from('la'));
    for (const who of ['patient', 'stranger']) {
      expect((await head(url, tokens[who] as string)).status).toBe(404);
      expect((await append(url, tokens[who] as string, 2, Buffer.from('b!'), true)).status).toBe(404);
      const del = await fetch(url, {
        method: 'DELETE',
        headers: { ...DRAFT, ...bearer(tokens[who] as string) },
      });
      expect(del.status).toBe(404);
    }
    expect((await head(url, tokens.hospital as string)).headers.get('upload-offset')).toBe('2');
  });

  it('takes nothing more from a grantee whose grant was revoked meanwhile', async () => {
    const hospital = tokens.hospital as string;
    const url = await open('patient', hospital, 'medical/late.txt', 8, Buffer.from('part'));
    const revoke = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'DELETE',
      headers: bearer(tokens.patient as string),
    });
    expect(revoke.status).toBe(204);
    const refused = await append(url, hospital, 4, Buffer.from(' two'), true);
    expect([403, 404]).toContain(refused.status);
    // Nothing more was stored: the upload stands where it was, or is gone (a grant change drops the
    // uploads whose creators may no longer write there, worker/uploads/uploads-service.ts).
    const after = await head(url, hospital);
    if (after.status === 204) expect(after.headers.get('upload-offset')).toBe('4');
    else expect(after.status).toBe(404);
    expect((await read('patient', 'medical/late.txt', tokens.patient as string)).status).toBe(404);
    const grant = await fetch(`${base}/v1/users/patient/grants/hospital`, {
      method: 'PUT',
      headers: { ...bearer(tokens.patient as string), 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/medical/' }),
    });
    expect(grant.status).toBeLessThan(300);
  });

  it('If-None-Match: * holds until the file is written: a name taken meanwhile is 412, the other file intact', async () => {
    const token = tokens.patient as string;
    const put = (path: string, body: string) =>
      fetch(file('patient', path), { method: 'PUT', headers: bearer(token), body });
    // Taken already: refused at creation.
    expect((await put('race/taken.txt', 'mine')).status).toBe(201);
    const early = await fetch(file('patient', 'race/taken.txt'), {
      method: 'PUT',
      headers: { ...DRAFT, ...bearer(token), 'upload-complete': '?1', 'if-none-match': '*' },
      body: 'theirs',
    });
    expect(early.status).toBe(412);
    // The draft: free at creation, taken before the last byte.
    const url = await open('patient', token, 'race/draft.txt', 6, Buffer.from('abc'), {
      'if-none-match': '*',
    });
    expect((await put('race/draft.txt', 'other')).status).toBe(201);
    const late = await append(url, token, 3, Buffer.from('def'), true);
    expect(late.status).toBe(412);
    expect(await (await read('patient', 'race/draft.txt', token)).text()).toBe('other');
    // tus: the same, with If-None-Match: * on the creating POST.
    const created = await fetch(`${base}/v1/users/patient/uploads/`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        ...bearer(token),
        'upload-length': '6',
        'upload-metadata': `path ${Buffer.from('race/tus.txt').toString('base64')}`,
        'if-none-match': '*',
      },
    });
    expect(created.status).toBe(201);
    const tusUrl = new URL(created.headers.get('location') as string, base).href;
    const tusPatch = (offset: number, body: string) =>
      fetch(tusUrl, {
        method: 'PATCH',
        headers: {
          'tus-resumable': '1.0.0',
          ...bearer(token),
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
        },
        body,
      });
    expect((await tusPatch(0, 'abc')).status).toBe(204);
    expect((await put('race/tus.txt', 'other')).status).toBe(201);
    expect((await tusPatch(3, 'def')).status).toBe(412);
    expect(await (await read('patient', 'race/tus.txt', token)).text()).toBe('other');
    // Without the condition, the last byte replaces it, as a PUT would.
    const free = await open('patient', token, 'race/free.txt', 2, Buffer.from('a'));
    expect((await put('race/free.txt', 'other')).status).toBe(201);
    const replaced = await append(free, token, 1, Buffer.from('b'), true);
    expect(replaced.status).toBe(200);
    expect(await (await read('patient', 'race/free.txt', token)).text()).toBe('ab');
  });
});
