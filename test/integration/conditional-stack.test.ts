/**
 * Conditional requests and the races of file names, end to end (api → broker → 2 workers → store, real
 * processes), once on MinIO and once on the filesystem store: RFC 9110 §13 preconditions on every
 * method, If-Range, no probing through preconditions by grantees without read, concurrent POSTs with
 * one Slug, and the file/folder rule under concurrent PUTs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

interface Backend {
  name: string;
  start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'MinIO',
    async start() {
      const minio: MinioServer = await startMinio();
      return {
        env: {
          ...minioEnv(minio, 'conditional'),
        },
        stop: () => minio.stop(),
      };
    },
  },
  {
    name: 'filesystem',
    async start() {
      const dir = await mkdtemp(join(tmpdir(), 'podstore-conditional-'));
      return { env: { DATA_DIR: dir }, stop: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

describe.each(backends)('conditional requests and name races on $name', (backend) => {
  let stack: LocalStack;
  let stopBackend: () => Promise<void>;
  let base: string;
  const tokens: Record<string, string> = {};
  const owner = 'patient';

  const files = (path: string) => `${base}/v1/users/${owner}/files/${path}`;
  const as = (who: string, path: string, init: RequestInit = {}) =>
    fetch(files(path), {
      ...init,
      headers: { ...bearer(tokens[who] ?? ''), ...(init.headers as Record<string, string>) },
    });
  const put = (path: string, body: string, headers: Record<string, string> = {}, who = owner) =>
    as(who, path, { method: 'PUT', headers: { 'content-type': 'text/plain', ...headers }, body });
  const answer = async (res: Response) => ({ status: res.status, body: await res.text() });

  beforeAll(async () => {
    const started = await backend.start();
    stopBackend = started.stop;
    stack = await startTestStack({ workers: 2, env: started.env });
    base = stack.apiUrl;
    for (const name of [owner, 'hospital', 'cleaner']) tokens[name] = await signUp(base, name, { name });
    const grant = async (grantee: string, modes: string[]) => {
      const res = await fetch(`${base}/v1/users/${owner}/grants/${grantee}`, {
        method: 'PUT',
        headers: { ...bearer(tokens[owner] ?? ''), 'content-type': 'application/json' },
        body: JSON.stringify({ modes, scope: '/' }),
      });
      expect(res.status).toBeLessThan(300);
    };
    await grant('hospital', ['append']);
    await grant('cleaner', ['delete']);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await stopBackend?.();
  });

  it('checks every tag of an If-Match list, strongly, on PUT, PATCH and DELETE', async () => {
    const etag = (await put('list.txt', 'v1')).headers.get('etag') as string;
    expect((await put('list.txt', 'v2', { 'if-match': `"nope", ${etag}` })).status).toBe(200);
    const etag2 = (await as(owner, 'list.txt', { method: 'HEAD' })).headers.get('etag') as string;
    expect((await put('list.txt', 'v3', { 'if-match': `W/${etag2}` })).status).toBe(412);
    expect((await put('list.txt', 'v3', { 'if-match': `"a", "b", ${etag}` })).status).toBe(412);
    const patch = (headers: Record<string, string>) =>
      as(owner, 'list.txt', {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json', ...headers },
        body: '{"description":"x"}',
      });
    expect((await patch({ 'if-match': `"a", ${etag}` })).status).toBe(412);
    const patched = await patch({ 'if-match': `"a", ${etag2}` });
    expect(patched.status).toBe(200);
    const etag3 = patched.headers.get('etag') as string;
    expect(
      (await as(owner, 'list.txt', { method: 'DELETE', headers: { 'if-match': `"a", ${etag2}` } })).status,
    ).toBe(412);
    expect(
      (await as(owner, 'list.txt', { method: 'DELETE', headers: { 'if-match': `"a", ${etag3}` } })).status,
    ).toBe(204);
  });

  it('honours If-None-Match with tags on PUT, comparing weakly', async () => {
    const etag = (await put('inm.txt', 'v1')).headers.get('etag') as string;
    expect((await put('inm.txt', 'v2', { 'if-none-match': etag })).status).toBe(412);
    expect((await put('inm.txt', 'v2', { 'if-none-match': `"other", W/${etag}` })).status).toBe(412);
    expect(await (await as(owner, 'inm.txt')).text()).toBe('v1');
    expect((await put('inm.txt', 'v2', { 'if-none-match': '"other"' })).status).toBe(200);
    expect((await put('inm-new.txt', 'v1', { 'if-none-match': '"other"' })).status).toBe(201);
    expect((await as(owner, 'inm.txt', { method: 'DELETE', headers: { 'if-none-match': '*' } })).status).toBe(
      412,
    );
  });

  it('honours If-Unmodified-Since on PUT, PATCH and DELETE, and If-Modified-Since on GET and HEAD', async () => {
    const created = await put('dated.txt', 'v1');
    const lastModified = created.headers.get('last-modified') as string;
    const before = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    const after = new Date(Date.parse(lastModified) + 60_000).toUTCString();
    expect((await put('dated.txt', 'v2', { 'if-unmodified-since': before })).status).toBe(412);
    expect(
      (
        await as(owner, 'dated.txt', {
          method: 'PATCH',
          headers: { 'content-type': 'application/merge-patch+json', 'if-unmodified-since': before },
          body: '{"tags":["a"]}',
        })
      ).status,
    ).toBe(412);
    expect(
      (await as(owner, 'dated.txt', { method: 'DELETE', headers: { 'if-unmodified-since': before } })).status,
    ).toBe(412);
    expect(await (await as(owner, 'dated.txt')).text()).toBe('v1');

    expect((await as(owner, 'dated.txt', { headers: { 'if-modified-since': lastModified } })).status).toBe(
      304,
    );
    expect((await as(owner, 'dated.txt', { headers: { 'if-modified-since': before } })).status).toBe(200);
    expect(
      (await as(owner, 'dated.txt', { method: 'HEAD', headers: { 'if-modified-since': after } })).status,
    ).toBe(304);
    expect((await as(owner, 'dated.txt?metadata', { headers: { 'if-modified-since': after } })).status).toBe(
      304,
    );
    // If-None-Match takes the place of If-Modified-Since (RFC 9110 §13.2.2).
    expect(
      (await as(owner, 'dated.txt', { headers: { 'if-none-match': '"other"', 'if-modified-since': after } }))
        .status,
    ).toBe(200);
    // A failed If-Match on a read is 412, and on HEAD too.
    expect((await as(owner, 'dated.txt', { headers: { 'if-match': '"other"' } })).status).toBe(412);
    expect(
      (await as(owner, 'dated.txt', { method: 'HEAD', headers: { 'if-match': '"other"' } })).status,
    ).toBe(412);
    expect((await put('dated.txt', 'v3', { 'if-unmodified-since': after })).status).toBe(200);
    expect(
      (await as(owner, 'dated.txt', { method: 'DELETE', headers: { 'if-unmodified-since': after } })).status,
    ).toBe(204);
  });

  it('answers 400 problem+json for a malformed entity-tag list', async () => {
    await put('malformed.txt', 'v1');
    const res = await put('malformed.txt', 'v2', { 'if-match': '"a" "b"' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await (await as(owner, 'malformed.txt')).text()).toBe('v1');
  });

  it('sends the whole file (200) for a Range with a stale If-Range, and the range for a current one', async () => {
    const first = await put('resume.bin', '0123456789');
    const oldEtag = first.headers.get('etag') as string;
    const replaced = await put('resume.bin', 'abcdefghij');
    const etag = replaced.headers.get('etag') as string;
    const lastModified = replaced.headers.get('last-modified') as string;
    const ask = (ifRange: string) =>
      as(owner, 'resume.bin', { headers: { range: 'bytes=5-', 'if-range': ifRange } });

    const stale = await ask(oldEtag);
    expect([stale.status, stale.headers.get('content-range'), await stale.text()]).toEqual([
      200,
      null,
      'abcdefghij',
    ]);
    const current = await ask(etag);
    expect([current.status, current.headers.get('content-range'), await current.text()]).toEqual([
      206,
      'bytes 5-9/10',
      'fghij',
    ]);
    const weak = await ask(`W/${etag}`);
    expect([weak.status, await weak.text()]).toEqual([200, 'abcdefghij']);
    const staleDate = await ask(new Date(Date.parse(lastModified) - 5_000).toUTCString());
    expect([staleDate.status, await staleDate.text()]).toEqual([200, 'abcdefghij']);

    // A date names one version only if no other version shares its second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const lone = await put('resume.bin', 'ABCDEFGHIJ');
    const loneDate = lone.headers.get('last-modified') as string;
    const byDate = await ask(loneDate);
    expect([byDate.status, byDate.headers.get('content-range'), await byDate.text()]).toEqual([
      206,
      'bytes 5-9/10',
      'FGHIJ',
    ]);
    const again = await put('resume.bin', 'klmnopqrst');
    if (again.headers.get('last-modified') === loneDate) {
      // Replaced within the same second: the date could name either version, so it names none.
      const ambiguous = await ask(loneDate);
      expect([ambiguous.status, await ambiguous.text()]).toEqual([200, 'klmnopqrst']);
    }
    const nothing = await ask('garbage');
    expect([nothing.status, await nothing.text()]).toEqual([200, 'klmnopqrst']);
  });

  it('gives a grantee without read the same answer for an existing and a missing file, whatever its conditions', async () => {
    await put('secret/exists.pdf', 'private');
    const probes: [string, string, RequestInit][] = [
      ['hospital', 'PUT', { method: 'PUT', headers: { 'if-match': '"bogus"' }, body: 'x' }],
      ['hospital', 'PUT', { method: 'PUT', headers: { 'if-match': '*' }, body: 'x' }],
      ['hospital', 'PUT', { method: 'PUT', headers: { 'if-none-match': '"bogus"' }, body: 'x' }],
      [
        'hospital',
        'PUT',
        { method: 'PUT', headers: { 'if-unmodified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' }, body: 'x' },
      ],
      ['cleaner', 'DELETE', { method: 'DELETE', headers: { 'if-match': '"bogus"' } }],
      ['cleaner', 'DELETE', { method: 'DELETE', headers: { 'if-none-match': '*' } }],
      [
        'cleaner',
        'DELETE',
        { method: 'DELETE', headers: { 'if-unmodified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' } },
      ],
    ];
    for (const [who, method, init] of probes) {
      const existing = await answer(await as(who, 'secret/exists.pdf', init));
      const missing = await answer(await as(who, 'secret/missing.pdf', init));
      expect([who, method, init.headers, existing]).toEqual([who, method, init.headers, missing]);
      expect(existing.status).toBe(403);
    }
    // Nothing was changed or created by the probes.
    expect(await (await as(owner, 'secret/exists.pdf')).text()).toBe('private');
    expect((await as(owner, 'secret/missing.pdf')).status).toBe(404);
    // Create-only is what append does: allowed.
    expect((await put('secret/new.pdf', 'lab', { 'if-none-match': '*' }, 'hospital')).status).toBe(201);
    expect((await as('cleaner', 'secret/new.pdf', { method: 'DELETE' })).status).toBe(204);
  });

  it('gives every one of many concurrent POSTs with one Slug a fresh name', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        as(owner, 'slugs/', {
          method: 'POST',
          headers: { 'content-type': 'text/plain', slug: 'Report.pdf' },
          body: `post ${i}`,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    const locations = results.map((r) => r.headers.get('location'));
    expect(new Set(locations).size).toBe(results.length);
    expect(locations).toContain(`/v1/users/${owner}/files/slugs/Report.pdf`);
    // A Slug that names a folder gets another name too.
    expect((await put('slugs/Folder/inner.txt', 'inner')).status).toBe(201);
    const beside = await as(owner, 'slugs/', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', slug: 'Folder' },
      body: 'beside',
    });
    expect([beside.status, beside.headers.get('location')]).toEqual([
      201,
      expect.stringMatching(/\/slugs\/Folder-[0-9a-f]{8}$/),
    ]);
    const bodies = await Promise.all(
      locations.map(async (l) =>
        (await fetch(`${base}${l}`, { headers: bearer(tokens[owner] ?? '') })).text(),
      ),
    );
    expect(bodies.sort()).toEqual(results.map((_, i) => `post ${i}`).sort());
  });

  it('lets exactly one of concurrent PUTs of c/x and c/x/y win, and never lists a name as file and folder', async () => {
    // 24 pairs, 6 at a time: one caller may have only so many transfers in flight (else 429).
    const race = async (i: number) => {
      // Listings taken while the two race must never show x twice (as a file and as a folder).
      const listings: Promise<{ name: string }[]>[] = [];
      // A 503 + Retry-After (a store too slow to create safely) wrote nothing: a client tries again.
      const putRetrying = async (path: string, body: string) => {
        for (let attempt = 1; ; attempt++) {
          const res = await put(path, body);
          if (res.status !== 503 || attempt === 5) return res;
          expect(res.headers.get('retry-after')).toBeTruthy();
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      };
      const racing = Promise.all([putRetrying(`race${i}/x`, 'file'), putRetrying(`race${i}/x/y`, 'inner')]);
      for (let k = 0; k < 3; k++) {
        listings.push(
          as(owner, `race${i}/`).then(async (res) =>
            res.status === 200 ? ((await res.json()) as { items: { name: string }[] }).items : [],
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [file, inner] = await racing;
      for (const items of await Promise.all(listings)) {
        expect(items.filter((item) => item.name === 'x').length).toBeLessThanOrEqual(1);
      }
      return { i, file: file.status, inner: inner.status };
    };
    const outcomes: { i: number; file: number; inner: number }[] = [];
    for (let batch = 0; batch < 24; batch += 6) {
      outcomes.push(...(await Promise.all([0, 1, 2, 3, 4, 5].map((k) => race(batch + k)))));
    }
    for (const { i, file, inner } of outcomes) {
      expect([i, [file, inner].sort()]).toEqual([i, [201, 409]]);
      const listing = (await (await as(owner, `race${i}/`)).json()) as {
        items: { name: string; kind: string }[];
      };
      expect(listing.items).toEqual([
        expect.objectContaining({ name: 'x', kind: file === 201 ? 'file' : 'folder' }),
      ]);
      if (file === 201) {
        expect(await (await as(owner, `race${i}/x`)).text()).toBe('file');
        expect((await as(owner, `race${i}/x/y`)).status).toBe(404);
      } else {
        expect((await as(owner, `race${i}/x`)).status).toBe(404);
        expect(await (await as(owner, `race${i}/x/y`)).text()).toBe('inner');
      }
    }
    // A name freed by a delete can change kind.
    const winner = outcomes[0];
    if (winner?.file === 201) {
      expect((await as(owner, 'race0/x', { method: 'DELETE' })).status).toBe(204);
      expect((await put('race0/x/y', 'now a folder')).status).toBe(201);
    } else {
      expect((await as(owner, 'race0/x/y', { method: 'DELETE' })).status).toBe(204);
      expect((await put('race0/x', 'now a file')).status).toBe(201);
    }
  });

  it('creates many files in one folder side by side, and still lets one of c/x and c/x/y win inside it', async () => {
    // One folder, busy: plain creations of new names and clashing pairs, 6 in flight at a time (the
    // caller's own limit). The two workers each share their lock of `inbox` among their creations.
    const outcomes: { kind: 'plain' | 'pair'; i: number; statuses: number[] }[] = [];
    for (let round = 0; round < 6; round++) {
      const plain = [0, 1, 2, 3].map(async (k) => {
        const i = round * 4 + k;
        return { kind: 'plain' as const, i, statuses: [(await put(`inbox/n-${i}.txt`, `note ${i}`)).status] };
      });
      const pair = (async () => {
        const [file, inner] = await Promise.all([
          put(`inbox/r${round}/x`, 'file'),
          put(`inbox/r${round}/x/y`, 'inner'),
        ]);
        return { kind: 'pair' as const, i: round, statuses: [file.status, inner.status] };
      })();
      outcomes.push(...(await Promise.all([...plain, pair])));
    }
    for (const { kind, i, statuses } of outcomes) {
      if (kind === 'plain') expect([i, statuses]).toEqual([i, [201]]);
      else expect([i, [...statuses].sort()]).toEqual([i, [201, 409]]);
    }
    const listing = (await (await as(owner, 'inbox/?limit=1000')).json()) as {
      items: { name: string; kind: string }[];
    };
    const names = listing.items.map((item) => item.name);
    expect(names.filter((name) => name.startsWith('n-')).length).toBe(24);
    expect(new Set(names).size).toBe(names.length);
    for (let round = 0; round < 6; round++) {
      const inner = (await (await as(owner, `inbox/r${round}/`)).json()) as { items: { name: string }[] };
      expect(inner.items.map((item) => item.name)).toEqual(['x']);
    }
    expect(await (await as(owner, 'inbox/n-23.txt')).text()).toBe('note 23');
  });
});
