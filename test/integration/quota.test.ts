/**
 * Storage quotas end to end: 2 workers on MinIO with a small default quota (100,000 bytes, 6 files).
 * An owner at its byte and file limits, a grantee appending on the owner's quota and within its own
 * grant budget, concurrent uploads racing for the last room, concurrent deletes giving space back
 * once, the operator's override, and who may see an account's usage.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodstoreClient, PodstoreError } from '../../client/sdk.ts';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const QUOTA_BYTES = 100_000;
const QUOTA_FILES = 6;
const ADMIN = 'operator-secret-for-quota-tests';

let minio: MinioServer;
let stack: LocalStack;
let base: string;
const tokens: Record<string, string> = { admin: ADMIN };

interface Usage {
  used: { bytes: number; files: number };
  reserved: { bytes: number; files: number };
  limits: { bytes: number; files: number };
  overridden: { bytes: boolean; files: boolean };
}

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 2,
    env: {
      ...minioEnv(minio, 'quota'),
      PODSTORE_ADMIN_TOKEN: ADMIN,
      QUOTA_DEFAULT_BYTES: String(QUOTA_BYTES),
      QUOTA_DEFAULT_FILES: String(QUOTA_FILES),
      QUOTA_RESERVE_STEP_BYTES: '4096',
      STREAM_CHUNK_BYTES: '16384',
    },
  });
  base = stack.apiUrl;
  for (const name of [
    'alice',
    'filer',
    'patient',
    'hospital',
    'lab',
    'racer',
    'deleter',
    'mixer',
    'stranger',
    'uploader',
    'donor',
    'clinic',
    'keeper',
  ])
    tokens[name] = await signUp(base, name);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

const as = (who: string, url: string, init: RequestInit = {}) =>
  fetch(`${base}${url}`, {
    ...init,
    headers: { ...bearer(tokens[who] ?? who), ...(init.headers as Record<string, string>) },
  });

/** A PUT with Content-Length (fetch sets it for a Buffer). */
const put = (who: string, owner: string, path: string, body: Buffer) =>
  as(who, `/v1/users/${owner}/files/${path}`, { method: 'PUT', body });

/** A PUT without Content-Length: the body goes chunked, 10,000 bytes at a time. */
const putChunked = (who: string, owner: string, path: string, size: number) =>
  as(who, `/v1/users/${owner}/files/${path}`, {
    method: 'PUT',
    body: new ReadableStream({
      start(controller) {
        for (let sent = 0; sent < size; sent += 10_000)
          controller.enqueue(new Uint8Array(randomBytes(Math.min(10_000, size - sent))));
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);

async function usage(owner: string, who = owner): Promise<Usage> {
  const res = await as(who, `/v1/users/${owner}/quota`);
  expect(res.status).toBe(200);
  return (await res.json()) as Usage;
}

async function listing(owner: string, dir = ''): Promise<{ name: string; size?: number }[]> {
  const res = await as(owner, `/v1/users/${owner}/files/${dir}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { name: string; size?: number; kind: string }[] }).items;
}

async function expectFull(res: Response, what: RegExp) {
  expect(res.status).toBe(507);
  expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const problem = (await res.json()) as { title: string; detail: string };
  expect(problem.title).toBe('Insufficient Storage');
  expect(problem.detail).toMatch(what);
}

describe('an owner at the limits of its pod', () => {
  it('refuses an upload past the byte quota with 507, stores nothing of it, and leaves usage as it was', async () => {
    expect((await put('alice', 'alice', 'a.bin', randomBytes(60_000))).status).toBe(201);
    const before = await usage('alice');
    expect(before.used).toEqual({ bytes: 60_000, files: 1 });
    expect(before.limits).toEqual({ bytes: QUOTA_BYTES, files: QUOTA_FILES });

    // Declared too large: refused before the body.
    await expectFull(await put('alice', 'alice', 'b.bin', randomBytes(50_000)), /storage quota is full/);
    // Chunked, no length: refused while it streams, as soon as it passes the quota.
    await expectFull(await putChunked('alice', 'alice', 'c.bin', 50_000), /storage quota is full/);

    for (const name of ['b.bin', 'c.bin'])
      expect((await as('alice', `/v1/users/alice/files/${name}`)).status).toBe(404);
    expect((await listing('alice')).map((i) => i.name)).toEqual(['a.bin']);
    const after = await usage('alice');
    expect(after.used).toEqual(before.used);
    expect(after.reserved).toEqual({ bytes: 0, files: 0 });
  });

  it('counts an overwrite by its size difference and gives a deleted file’s space back', async () => {
    expect((await put('alice', 'alice', 'a.bin', randomBytes(30_000))).status).toBe(200);
    expect((await usage('alice')).used).toEqual({ bytes: 30_000, files: 1 });
    // What did not fit before fits now, chunked too.
    expect((await putChunked('alice', 'alice', 'c.bin', 50_000)).status).toBe(201);
    expect((await usage('alice')).used).toEqual({ bytes: 80_000, files: 2 });
    // Growing a file past the quota is refused like any other write; the old version stays.
    await expectFull(await put('alice', 'alice', 'a.bin', randomBytes(60_000)), /storage quota is full/);
    const kept = (await (await as('alice', '/v1/users/alice/files/a.bin?metadata')).json()) as {
      size: number;
    };
    expect(kept.size).toBe(30_000);
    expect((await as('alice', '/v1/users/alice/files/c.bin', { method: 'DELETE' })).status).toBe(204);
    expect((await usage('alice')).used).toEqual({ bytes: 30_000, files: 1 });
  });

  it('refuses a file past the file quota, and takes it once a file is deleted', async () => {
    for (let i = 0; i < QUOTA_FILES; i++)
      expect((await put('filer', 'filer', `f${i}.txt`, Buffer.from('x'))).status).toBe(201);
    await expectFull(await put('filer', 'filer', 'one-more.txt', Buffer.from('x')), /file quota is full/);
    expect((await as('filer', '/v1/users/filer/files/one-more.txt')).status).toBe(404);
    // An overwrite adds no file: still allowed.
    expect((await put('filer', 'filer', 'f0.txt', Buffer.from('xy'))).status).toBe(200);
    expect((await usage('filer')).used).toEqual({ bytes: QUOTA_FILES + 1, files: QUOTA_FILES });
    expect((await as('filer', '/v1/users/filer/files/f1.txt', { method: 'DELETE' })).status).toBe(204);
    expect((await put('filer', 'filer', 'one-more.txt', Buffer.from('x'))).status).toBe(201);
    expect((await usage('filer')).used.files).toBe(QUOTA_FILES);
  });
});

describe('grantees spend the owner’s quota', () => {
  const grant = (owner: string, grantee: string, body: object) =>
    as(owner, `/v1/users/${owner}/grants/${grantee}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('charges an appending grantee’s files to the owner, within the grant’s byte budget', async () => {
    const granted = await grant('patient', 'hospital', {
      modes: ['append'],
      scope: '/inbox/',
      maxBytes: 30_000,
    });
    expect(granted.status).toBe(200);
    expect(((await granted.json()) as { entries: { maxBytes?: number }[] }).entries[0]?.maxBytes).toBe(
      30_000,
    );
    expect((await put('hospital', 'patient', 'inbox/lab-1.pdf', randomBytes(20_000))).status).toBe(201);
    expect((await usage('patient')).used).toEqual({ bytes: 20_000, files: 1 });
    expect((await usage('hospital')).used).toEqual({ bytes: 0, files: 0 });

    // The owner's pod has room, but the grant's budget has 10,000 bytes left.
    await expectFull(
      await put('hospital', 'patient', 'inbox/lab-2.pdf', randomBytes(20_000)),
      /grant's byte budget/,
    );
    await expectFull(
      await putChunked('hospital', 'patient', 'inbox/lab-3.pdf', 20_000),
      /grant's byte budget/,
    );
    for (const name of ['lab-2.pdf', 'lab-3.pdf'])
      expect((await as('patient', `/v1/users/patient/files/inbox/${name}`)).status).toBe(404);
    expect((await usage('patient')).used).toEqual({ bytes: 20_000, files: 1 });
    expect((await put('hospital', 'patient', 'inbox/lab-2.pdf', randomBytes(10_000))).status).toBe(201);

    // A budget counts what was added: deleting the file does not give it back; granting again does.
    expect(
      (await as('patient', '/v1/users/patient/files/inbox/lab-1.pdf', { method: 'DELETE' })).status,
    ).toBe(204);
    await expectFull(await put('hospital', 'patient', 'inbox/lab-4.pdf', Buffer.from('x')), /budget/);
    expect(
      (await grant('patient', 'hospital', { modes: ['append'], scope: '/inbox/', maxBytes: 5000 })).status,
    ).toBe(200);
    expect((await put('hospital', 'patient', 'inbox/lab-4.pdf', randomBytes(5000))).status).toBe(201);
    expect((await usage('patient')).used).toEqual({ bytes: 15_000, files: 2 });
  });

  it('bounds the new files a grantee adds with maxFiles', async () => {
    expect(
      (await grant('patient', 'stranger', { modes: ['append'], scope: '/notes/', maxFiles: 2 })).status,
    ).toBe(200);
    for (const name of ['n1', 'n2'])
      expect((await put('stranger', 'patient', `notes/${name}`, Buffer.from(''))).status).toBe(201);
    await expectFull(await put('stranger', 'patient', 'notes/n3', Buffer.from('')), /grant's file budget/);
    expect((await as('patient', '/v1/users/patient/files/notes/n3')).status).toBe(404);
    expect((await grant('patient', 'stranger', { modes: [], scope: '/notes/' })).status).toBe(200);
  });

  it('stops a grantee without a budget at the owner’s quota', async () => {
    expect((await grant('patient', 'lab', { modes: ['append'], scope: '/lab/' })).status).toBe(200);
    const room = QUOTA_BYTES - (await usage('patient')).used.bytes;
    expect((await put('lab', 'patient', 'lab/big.bin', randomBytes(room))).status).toBe(201);
    await expectFull(await put('lab', 'patient', 'lab/more.bin', Buffer.from('x')), /storage quota is full/);
    await expectFull(await put('patient', 'patient', 'mine.txt', Buffer.from('x')), /storage quota is full/);
    expect((await usage('patient')).used.bytes).toBe(QUOTA_BYTES);
    expect((await usage('lab')).used.bytes).toBe(0);
  });

  it('refuses a budget on a grant that cannot add anything, or one that is not a byte count', async () => {
    for (const body of [
      { modes: ['read'], scope: '/x/', maxBytes: 10 },
      { modes: ['append'], scope: '/x/', maxBytes: -1 },
      { modes: ['append'], scope: '/x/', maxBytes: 1.5 },
      { modes: ['append'], scope: '/x/', maxBytes: '10' },
      { modes: ['read'], scope: '/x/', maxFiles: 1 },
      { modes: ['append'], scope: '/x/', maxFiles: -1 },
    ]) {
      const res = await grant('patient', 'stranger', body);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
  });
});

describe('unfinished resumable uploads', () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const tus = { 'tus-resumable': '1.0.0' };
  const create = (who: string, owner: string, path: string, length: number) =>
    as(who, `/v1/users/${owner}/uploads/`, {
      method: 'POST',
      headers: { ...tus, 'upload-length': String(length), 'upload-metadata': `path ${b64(path)}` },
    });
  const patch = (who: string, location: string, offset: number, body: Buffer) =>
    as(who, location, {
      method: 'PATCH',
      headers: {
        ...tus,
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
      },
      body,
    });

  it('hold the room for all their bytes from creation, so together they never pass the quota', async () => {
    const first = await create('uploader', 'uploader', 'scan-1.bin', 60_000);
    expect(first.status).toBe(201);
    const location = first.headers.get('location') as string;
    expect((await usage('uploader')).reserved).toEqual({ bytes: 60_000, files: 1 });

    // Without the hold, each creation saw the whole free room, and unfinished uploads could keep
    // several times the quota in the pod until they expired.
    await expectFull(await create('uploader', 'uploader', 'scan-2.bin', 60_000), /storage quota is full/);
    await expectFull(await put('uploader', 'uploader', 'other.bin', randomBytes(50_000)), /quota is full/);

    // The write that completes the upload takes the hold over: the room is counted once.
    const bytes = randomBytes(60_000);
    const done = await patch('uploader', location, 0, bytes);
    expect(done.status).toBe(204);
    expect(
      Buffer.from(await (await as('uploader', '/v1/users/uploader/files/scan-1.bin')).arrayBuffer()),
    ).toEqual(bytes);
    const after = await usage('uploader');
    expect(after.used).toEqual({ bytes: 60_000, files: 1 });
    expect(after.reserved).toEqual({ bytes: 0, files: 0 });

    // A deleted upload gives its room back at once.
    const third = await create('uploader', 'uploader', 'scan-3.bin', 30_000);
    expect(third.status).toBe(201);
    await expectFull(await put('uploader', 'uploader', 'other.bin', randomBytes(20_000)), /quota is full/);
    const deleted = await as('uploader', third.headers.get('location') as string, {
      method: 'DELETE',
      headers: tus,
    });
    expect(deleted.status).toBe(204);
    expect((await usage('uploader')).reserved).toEqual({ bytes: 0, files: 0 });
    expect((await put('uploader', 'uploader', 'other.bin', randomBytes(20_000))).status).toBe(201);
  });

  it('charge a grantee’s unfinished uploads to its grant budget too', async () => {
    const granted = await as('donor', '/v1/users/donor/grants/clinic', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ modes: ['append'], scope: '/inbox/', maxBytes: 30_000 }),
    });
    expect(granted.status).toBe(200);
    const open = await create('clinic', 'donor', 'inbox/a.bin', 20_000);
    expect(open.status).toBe(201);
    await expectFull(await create('clinic', 'donor', 'inbox/b.bin', 20_000), /grant's byte budget/);
    await expectFull(await put('clinic', 'donor', 'inbox/c.bin', randomBytes(20_000)), /budget/);
    expect((await usage('donor')).reserved).toEqual({ bytes: 20_000, files: 1 });

    // An upload its creator may no longer finish does not keep the owner's room until it expires: the
    // revocation drops it, with what it held.
    const location = open.headers.get('location') as string;
    await patch('clinic', location, 0, randomBytes(5000));
    expect((await as('donor', '/v1/users/donor/grants/clinic', { method: 'DELETE' })).status).toBe(204);
    expect((await usage('donor')).reserved).toEqual({ bytes: 0, files: 0 });
    expect((await as('clinic', location, { method: 'HEAD', headers: tus })).status).toBe(404);
  });

  it('go when a narrower grant leaves their creator no right to finish them', async () => {
    const grant = (modes: string[], scope: string) =>
      as('keeper', '/v1/users/keeper/grants/stranger', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scopes: [{ modes, scope }] }),
      });
    expect((await grant(['append'], '/shared/')).status).toBe(200);
    const open = await create('stranger', 'keeper', 'shared/big.bin', 10_000);
    expect(open.status).toBe(201);
    expect((await usage('keeper')).reserved.bytes).toBe(10_000);
    expect((await grant(['read'], '/shared/')).status).toBe(200); // may read there, no longer add
    expect((await usage('keeper')).reserved).toEqual({ bytes: 0, files: 0 });
    const location = open.headers.get('location') as string;
    expect((await as('stranger', location, { method: 'HEAD', headers: tus })).status).toBe(404);
  });
});

describe('concurrency across workers', () => {
  it('lets concurrent uploads that together pass the quota store at most the quota', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? put('racer', 'racer', `r${i}.bin`, randomBytes(30_000))
          : putChunked('racer', 'racer', `r${i}.bin`, 30_000),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 507 || s === 409)).toBe(true);
    const created = statuses.filter((s) => s === 201).length;
    expect(created).toBeGreaterThanOrEqual(1);
    expect(created).toBeLessThanOrEqual(3);
    const items = await listing('racer');
    const stored = items.reduce((sum, i) => sum + (i.size ?? 0), 0);
    expect(items).toHaveLength(created);
    expect(stored).toBeLessThanOrEqual(QUOTA_BYTES);
    const after = await usage('racer');
    expect(after.used).toEqual({ bytes: stored, files: created });
    expect(after.reserved).toEqual({ bytes: 0, files: 0 });
  });

  it('gives a file’s space back once, however many DELETEs race for it', async () => {
    expect((await put('deleter', 'deleter', 'keep.bin', randomBytes(10_000))).status).toBe(201);
    expect((await put('deleter', 'deleter', 'gone.bin', randomBytes(40_000))).status).toBe(201);
    const deletes = await Promise.all(
      Array.from({ length: 8 }, () =>
        as('deleter', '/v1/users/deleter/files/gone.bin', { method: 'DELETE' }),
      ),
    );
    const statuses = deletes.map((r) => r.status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    expect(statuses.every((s) => s === 204 || s === 404)).toBe(true);
    expect((await usage('deleter')).used).toEqual({ bytes: 10_000, files: 1 });
  });
});

describe('usage matches the pod after racing writes and deletes', () => {
  it('counts exactly what is stored when overwrites and deletes of the same files interleave', async () => {
    const paths = ['m/a.bin', 'm/b.bin', 'm/c.bin'];
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 18 }, (_, i) => {
          const path = paths[i % paths.length] as string;
          return i % 3 === 2
            ? as('mixer', `/v1/users/mixer/files/${path}`, { method: 'DELETE' })
            : put('mixer', 'mixer', path, randomBytes(1000 + ((i * 997 + round * 131) % 4000)));
        }),
      );
    }
    // The last round may have deleted every file, and an empty folder does not exist (404).
    const folder = await as('mixer', '/v1/users/mixer/files/m/');
    expect([200, 404]).toContain(folder.status);
    const items =
      folder.status === 200 ? ((await folder.json()) as { items: { size?: number }[] }).items : [];
    const after = await usage('mixer');
    expect(after.used).toEqual({
      bytes: items.reduce((sum, i) => sum + (i.size ?? 0), 0),
      files: items.length,
    });
    expect(after.reserved).toEqual({ bytes: 0, files: 0 });
  });
});

describe('the operator and the owner', () => {
  const setQuota = (who: string, owner: string, body: object) =>
    as(who, `/v1/users/${owner}/quota`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('lets only the operator override an account’s quota, and back to the default with null', async () => {
    expect((await setQuota('alice', 'alice', { bytes: 10_000_000 })).status).toBe(403);
    expect((await setQuota('stranger', 'alice', { bytes: 10_000_000 })).status).toBe(404);
    expect((await usage('alice')).limits.bytes).toBe(QUOTA_BYTES);
    await expectFull(await put('alice', 'alice', 'big.bin', randomBytes(150_000)), /quota/);

    const raised = await setQuota('admin', 'alice', { bytes: 200_000, files: 3 });
    expect(raised.status).toBe(200);
    expect(((await raised.json()) as Usage).limits).toEqual({ bytes: 200_000, files: 3 });
    expect((await put('alice', 'alice', 'big.bin', randomBytes(150_000))).status).toBe(201);
    expect((await usage('alice')).overridden).toEqual({ bytes: true, files: true });

    const reset = await setQuota('admin', 'alice', { bytes: null, files: null });
    expect(((await reset.json()) as Usage).limits).toEqual({ bytes: QUOTA_BYTES, files: QUOTA_FILES });
    await expectFull(await put('alice', 'alice', 'small.bin', Buffer.from('x')), /storage quota is full/);

    for (const bad of [{ bytes: -1 }, { bytes: 'lots' }, { files: 1.5 }, { disk: 1 }]) {
      const res = await setQuota('admin', 'alice', bad);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
    expect((await setQuota('admin', 'no-such-user', { bytes: 1 })).status).toBe(404);
  });

  it('shows usage to the owner and the operator only', async () => {
    const own = await usage('alice');
    expect(own.used.files).toBeGreaterThan(0);
    expect((await usage('alice', 'admin')).used).toEqual(own.used);
    for (const who of ['stranger', 'patient']) {
      const res = await as(who, '/v1/users/alice/quota');
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
    expect((await as('hospital', '/v1/users/patient/quota')).status).toBe(404);
    expect((await fetch(`${base}/v1/users/alice/quota`)).status).toBe(401);
    // The SDK says the same.
    const sdk = (token: string) => new PodstoreClient({ baseUrl: base, token });
    expect((await sdk(tokens.alice ?? '').quota.get('alice')).used).toEqual(own.used);
    const refused = await sdk(tokens.stranger ?? '')
      .quota.get('alice')
      .catch((error: unknown) => error);
    expect(refused instanceof PodstoreError && refused.status).toBe(404);
  });

  it('recounts a pod from its objects at the operator’s request', async () => {
    expect((await as('alice', '/v1/users/alice/quota/recount', { method: 'POST' })).status).toBe(403);
    const res = await as('admin', '/v1/users/alice/quota/recount', { method: 'POST' });
    expect(res.status).toBe(200);
    const counted = (await res.json()) as Usage & { recountedAt?: string };
    const items = await listing('alice');
    expect(counted.used).toEqual({
      bytes: items.reduce((sum, i) => sum + (i.size ?? 0), 0),
      files: items.length,
    });
    expect(counted.recountedAt).toBeDefined();
  });
});
