/**
 * Accounts, tokens, grants, sealed documents and the audit log, end to end through the HTTP API with 3
 * workers on MinIO: the hospital story of the design, and a table of every mode × operation × caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let stack: LocalStack;
let base: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 3,
    env: {
      ...minioEnv(minio, 'permissions'),
      PODSTORE_ADMIN_TOKEN: 'operator-secret-for-tests',
      AUDIT_REFUSED_WINDOW_S: '4',
      AUDIT_REFUSED_BURST: '5',
      GRANT_DELEGATION_DEPTH: '2',
    },
  });
  base = stack.apiUrl;
  for (const name of ['patient', 'hospital', 'stranger', 'insurer', 'clinic'])
    tokens[name] = await signUp(base, name);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

const as = (who: string | undefined, url: string, init: RequestInit = {}) =>
  fetch(`${base}${url}`, {
    ...init,
    headers: {
      ...(who === undefined ? {} : bearer(tokens[who] ?? who)),
      ...(init.headers as Record<string, string>),
    },
  });
const put = (who: string, url: string, body: string) =>
  as(who, url, { method: 'PUT', headers: { 'content-type': 'application/pdf' }, body });
const grant = (owner: string, grantee: string, body: object, by = owner) =>
  as(by, `/v1/users/${owner}/grants/${grantee}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('accounts and tokens', () => {
  it('signs up with a token shown once, of the documented shape', async () => {
    const res = await fetch(`${base}/v1/users/acme-hospital?kind=organization`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"ACME"}',
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; kind: string; profile: object };
    expect(body.token).toMatch(/^pst_[A-Za-z0-9_-]{43}$/);
    expect(body.kind).toBe('organization');
    expect(body.profile).toEqual({ name: 'ACME' });
    const me = await fetch(`${base}/v1/users/acme-hospital`, { headers: bearer(body.token) });
    expect([me.status, me.headers.get('x-podstore-account-kind')]).toEqual([200, 'organization']);
  });

  it('refuses missing, malformed and unknown tokens with 401 problem+json and a Bearer challenge', async () => {
    for (const headers of [
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer nope' },
      bearer(`pst_${'A'.repeat(43)}`),
    ]) {
      const res = await fetch(`${base}/v1/users/patient/files/x.txt`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="podstore"/);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('issues, lists and revokes tokens; a revoked token fails within a second', async () => {
    const issued = await as('insurer', '/v1/users/insurer/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"label":"laptop"}',
    });
    expect(issued.status).toBe(201);
    const { id, token } = (await issued.json()) as { id: string; token: string };
    expect((await fetch(`${base}/v1/users/insurer`, { headers: bearer(token) })).status).toBe(200);
    const listed = (await (await as('insurer', '/v1/users/insurer/tokens')).json()) as {
      tokens: { id: string; label: string }[];
    };
    expect(listed.tokens.map((t) => t.label).sort()).toEqual(['laptop', 'sign-up']);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect((await as('stranger', `/v1/users/insurer/tokens/${id}`, { method: 'DELETE' })).status).toBe(403);
    expect((await as('insurer', `/v1/users/insurer/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${base}/v1/users/insurer`, { headers: bearer(token) })).status).toBe(401);
  });

  it('keeps profiles to their owners, and refuses a taken name', async () => {
    expect((await as('stranger', '/v1/users/patient')).status).toBe(404);
    expect((await as('stranger', '/v1/users/patient', { method: 'DELETE' })).status).toBe(403);
    const taken = await fetch(`${base}/v1/users/patient`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(taken.status).toBe(409);
  });

  it('gives a deleted user’s tokens and grants to nobody, not even a new user of the same name', async () => {
    const old = await signUp(base, 'reused-name');
    expect((await grant('clinic', 'reused-name', { modes: ['read'], scope: '/' })).status).toBe(200);
    expect((await as('clinic', '/v1/users/clinic/files/a.txt', { method: 'PUT', body: 'x' })).status).toBe(
      201,
    );
    expect((await fetch(`${base}/v1/users/reused-name/files/`, { headers: bearer(old) })).status).toBe(200);
    expect(
      (await fetch(`${base}/v1/users/reused-name`, { method: 'DELETE', headers: bearer(old) })).status,
    ).toBe(204);
    const fresh = await signUp(base, 'reused-name');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${base}/v1/users/reused-name`, { headers: bearer(old) })).status).toBe(401);
    expect((await fetch(`${base}/v1/users/clinic/files/a.txt`, { headers: bearer(fresh) })).status).toBe(404);
  });
});

describe('the hospital story', () => {
  it('lets a hospital add to a patient’s pod, keeps what it wrote sealed, and logs it all', async () => {
    expect((await grant('patient', 'hospital', { modes: ['append'], scope: '/medical/' })).status).toBe(200);

    expect((await put('hospital', '/v1/users/patient/files/medical/lab-1.pdf', 'result 1')).status).toBe(201);
    const posted = await as('hospital', '/v1/users/patient/files/medical/', {
      method: 'POST',
      headers: { 'content-type': 'application/pdf', slug: 'lab-2.pdf' },
      body: 'result 2',
    });
    expect(posted.status).toBe(201);

    // The hospital cannot read, overwrite or delete what it added, nor write outside /medical/.
    expect((await as('hospital', '/v1/users/patient/files/medical/lab-1.pdf')).status).toBe(404);
    expect((await put('hospital', '/v1/users/patient/files/medical/lab-1.pdf', 'forged')).status).toBe(403);
    expect(
      (await as('hospital', '/v1/users/patient/files/medical/lab-1.pdf', { method: 'DELETE' })).status,
    ).toBe(403);
    expect((await put('hospital', '/v1/users/patient/files/notes/x.pdf', 'elsewhere')).status).toBe(403);

    // The patient reads them, cannot change them (sealed), can delete one.
    const read = await as('patient', '/v1/users/patient/files/medical/lab-1.pdf');
    expect([read.status, read.headers.get('x-podstore-author'), await read.text()]).toEqual([
      200,
      'hospital',
      'result 1',
    ]);
    const overwrite = await put('patient', '/v1/users/patient/files/medical/lab-1.pdf', 'altered');
    expect(overwrite.status).toBe(403);
    expect(((await overwrite.json()) as { detail: string }).detail).toMatch(/sealed/);
    const patch = await as('patient', '/v1/users/patient/files/medical/lab-1.pdf', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{"description":"mine now"}',
    });
    expect(patch.status).toBe(403);
    expect(
      (await as('patient', '/v1/users/patient/files/medical/lab-2.pdf', { method: 'DELETE' })).status,
    ).toBe(204);

    // A stranger sees nothing, and cannot tell an existing file from a missing one.
    const existing = await as('stranger', '/v1/users/patient/files/medical/lab-1.pdf');
    const missing = await as('stranger', '/v1/users/patient/files/medical/nothing.pdf');
    expect([existing.status, missing.status]).toEqual([404, 404]);
    const [a, b] = [
      (await existing.json()) as { detail: string },
      (await missing.json()) as { detail: string },
    ];
    expect(a.detail.replace('lab-1.pdf', 'X')).toBe(b.detail.replace('nothing.pdf', 'X'));
    expect((await as('stranger', '/v1/users/patient/files/medical/')).status).toBe(404);

    // The audit log shows who did what, newest first; only the owner reads it.
    expect((await as('hospital', '/v1/users/patient/audit')).status).toBe(403);
    const audit = (await (await as('patient', '/v1/users/patient/audit')).json()) as {
      entries: { actor: string; action: string; path?: string; outcome: string; time: string }[];
    };
    const summary = audit.entries.map((e) => `${e.actor} ${e.action} ${e.path ?? ''} ${e.outcome}`);
    expect(summary).toEqual(
      expect.arrayContaining([
        'hospital write medical/lab-1.pdf allowed',
        'hospital create medical allowed',
        'hospital read medical/lab-1.pdf not_found',
        'hospital write medical/lab-1.pdf forbidden',
        'hospital delete medical/lab-1.pdf forbidden',
        'hospital write notes/x.pdf forbidden',
        'stranger read medical/lab-1.pdf not_found',
        'patient grant hospital allowed',
      ]),
    );
    expect(summary.some((s) => s.startsWith('patient read'))).toBe(false); // the owner's own reads are not logged
    const times = audit.entries.map((e) => e.time);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('lets a grantee with control pass on only what it holds, within its scope', async () => {
    expect(
      (await grant('patient', 'clinic', { modes: ['read', 'append', 'control'], scope: '/medical/' })).status,
    ).toBe(200);
    expect(
      (await grant('patient', 'insurer', { modes: ['read'], scope: '/medical/2025/' }, 'clinic')).status,
    ).toBe(200);
    expect(
      (await grant('patient', 'insurer', { modes: ['write'], scope: '/medical/' }, 'clinic')).status,
    ).toBe(403);
    expect((await grant('patient', 'insurer', { modes: ['read'], scope: '/' }, 'clinic')).status).toBe(403);
    expect(
      (await grant('patient', 'insurer', { modes: ['read'], scope: '/medical/' }, 'hospital')).status,
    ).toBe(403);
    const view = (await (await as('insurer', '/v1/users/patient/grants/insurer')).json()) as {
      entries: { scope: string; grantedBy: string }[];
    };
    expect(view.entries).toEqual([expect.objectContaining({ scope: '/medical/2025/', grantedBy: 'clinic' })]);
    expect((await as('clinic', '/v1/users/patient/grants/insurer', { method: 'DELETE' })).status).toBe(204);
    expect((await as('patient', '/v1/users/patient/grants/insurer')).status).toBe(404);
    const all = (await (await as('patient', '/v1/users/patient/grants')).json()) as {
      grants: { grantee: string }[];
    };
    expect(all.grants.map((g) => g.grantee).sort()).toEqual(['clinic', 'hospital']);
  });
});

/**
 * Every mode × operation × caller. The pod `table-owner` holds `docs/in.txt` (written by the owner) and
 * grantees get one mode each over `/docs/`; `docs/` is in scope, `other/` is out of scope.
 */
describe('permission table', () => {
  const modes = ['read', 'append', 'write', 'delete', 'control'] as const;
  const owner = 'table-owner';
  const extra: Record<string, string> = {};

  beforeAll(async () => {
    tokens[owner] = await signUp(base, owner);
    for (const mode of modes) tokens[`g-${mode}`] = await signUp(base, `g-${mode}`);
    tokens['g-expired'] = await signUp(base, 'g-expired');
    tokens['g-revoked'] = await signUp(base, 'g-revoked');
    for (const mode of modes)
      expect((await grant(owner, `g-${mode}`, { modes: [mode], scope: '/docs/' })).status).toBe(200);
    const soon = new Date(Date.now() + 1500).toISOString();
    expect((await grant(owner, 'g-expired', { modes: [...modes], scope: '/', expiresAt: soon })).status).toBe(
      200,
    );
    const issued = await as('g-revoked', '/v1/users/g-revoked/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    extra.revoked = ((await issued.json()) as { token: string }).token;
    const { id } = (
      (await (await as('g-revoked', '/v1/users/g-revoked/tokens')).json()) as {
        tokens: { id: string; label: string }[];
      }
    ).tokens.find((t) => t.label === '') as { id: string };
    expect((await grant(owner, 'g-revoked', { modes: [...modes], scope: '/' })).status).toBe(200);
    expect((await as('g-revoked', `/v1/users/g-revoked/tokens/${id}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    for (const path of ['docs/in.txt', 'other/out.txt']) {
      expect((await put(owner, `/v1/users/${owner}/files/${path}`, 'owner bytes')).status).toBe(201);
    }
    await new Promise((r) => setTimeout(r, 1600)); // the expiring grant expires; the revoked token's cache entry too
  });

  type Op = 'read' | 'create' | 'overwrite' | 'patch' | 'delete' | 'list';
  // patch before overwrite: a grantee that overwrites a file becomes its author, and the file is sealed.
  const ops: Op[] = ['read', 'create', 'patch', 'overwrite', 'delete', 'list'];
  const run = (caller: string, op: Op, where: 'docs' | 'other'): Promise<Response> => {
    const token = caller === 'nobody' ? undefined : caller === 'revoked' ? extra.revoked : tokens[caller];
    const headers = token === undefined ? {} : bearer(token);
    const file = `/v1/users/${owner}/files/${where}/${where === 'docs' ? 'in' : 'out'}.txt`;
    const fresh = `/v1/users/${owner}/files/${where}/new-${caller}-${Math.random().toString(36).slice(2)}.txt`;
    switch (op) {
      case 'read':
        return fetch(`${base}${file}`, { headers });
      case 'create':
        return fetch(`${base}${fresh}`, { method: 'PUT', headers, body: 'new' });
      case 'overwrite':
        return fetch(`${base}${file}`, { method: 'PUT', headers, body: 'changed' });
      case 'patch':
        return fetch(`${base}${file}`, {
          method: 'PATCH',
          headers: { ...headers, 'content-type': 'application/json' },
          body: '{"tags":["t"]}',
        });
      case 'delete':
        // Deleting a missing file: the answer must not depend on existence for those without the mode.
        return fetch(`${base}/v1/users/${owner}/files/${where}/absent.txt`, { method: 'DELETE', headers });
      case 'list':
        return fetch(`${base}/v1/users/${owner}/files/${where}/`, { headers });
    }
  };

  // Expected status per caller and op, in scope (docs/) then out of scope (other/).
  const nothing: Record<Op, [number, number]> = {
    read: [404, 404],
    create: [403, 403],
    overwrite: [403, 403],
    patch: [403, 403],
    delete: [403, 403],
    list: [404, 404],
  };
  const unauthenticated = Object.fromEntries(ops.map((op) => [op, [401, 401]])) as Record<
    Op,
    [number, number]
  >;
  const table: Record<string, Record<Op, [number, number]>> = {
    [owner]: {
      read: [200, 200],
      create: [201, 201],
      overwrite: [200, 200],
      patch: [200, 200],
      delete: [404, 404],
      list: [200, 200],
    },
    'g-read': { ...nothing, read: [200, 404], list: [200, 404] },
    'g-append': { ...nothing, create: [201, 403] },
    'g-write': { ...nothing, create: [201, 403], overwrite: [200, 403], patch: [200, 403] },
    'g-delete': { ...nothing, delete: [404, 403] },
    'g-control': nothing,
    'g-expired': nothing,
    stranger: nothing,
    nobody: unauthenticated,
    revoked: unauthenticated,
  };

  for (const [caller, row] of Object.entries(table)) {
    it(`${caller}`, async () => {
      const got: Record<string, [number, number]> = {};
      for (const op of ops)
        got[op] = [(await run(caller, op, 'docs')).status, (await run(caller, op, 'other')).status];
      expect(got).toEqual(row);
    });
  }
});

/**
 * Delegation never exceeds its source (the audit of issue 12, items 2 and 7): a control holder cannot
 * make itself permanent, what it delegates never outlives or outgrows its own grant, revoking it revokes
 * what it delegated, control cannot be handed back, and it never removes modes it could not revoke.
 */
describe('delegation', () => {
  const owner = 'd-owner';
  const file = `/v1/users/${owner}/files/medical/2025/lab.pdf`;
  const other = `/v1/users/${owner}/files/medical/2024/lab.pdf`;
  const grantOf = async (grantee: string, who = owner) =>
    (await (await as(who, `/v1/users/${owner}/grants/${grantee}`)).json()) as {
      entries: { scope: string; modes: string[]; grantedBy: string; expiresAt?: string }[];
      effective: { scope: string; modes: string[]; expiresAt?: string }[];
    };

  beforeAll(async () => {
    for (const name of [
      owner,
      'd-clinic',
      'd-insurer',
      'd-lab',
      'd-temp',
      'd-keeper',
      'd-viewer',
      'd-patron',
      'd-aide',
      'd-chain-1',
      'd-chain-2',
      'd-chain-3',
      'd-chain-4',
      'd-finance',
    ])
      tokens[name] = await signUp(base, name);
    expect((await put(owner, file, 'lab 2025')).status).toBe(201);
    expect((await put(owner, other, 'lab 2024')).status).toBe(201);
  });

  it('keeps a control holder from re-granting itself past its expiry, or changing its own grant at all', async () => {
    const soon = new Date(Date.now() + 3000).toISOString();
    expect(
      (await grant(owner, 'd-temp', { modes: ['read', 'control'], scope: '/', expiresAt: soon })).status,
    ).toBe(200);
    const again = await grant(owner, 'd-temp', { modes: ['read', 'control'], scope: '/' }, 'd-temp');
    expect(again.status).toBe(403);
    expect(((await again.json()) as { detail: string }).detail).toMatch(/own grant/);
    expect(
      (await grant(owner, 'd-temp', { modes: ['read', 'control'], scope: '/medical/' }, 'd-temp')).status,
    ).toBe(403);
    expect((await as('d-temp', `/v1/users/${owner}/grants/d-temp`, { method: 'DELETE' })).status).toBe(403);
    expect((await as('d-temp', file)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Date.parse(soon) - Date.now() + 200));
    expect((await as('d-temp', file)).status).toBe(404);
  });

  it('never lets a delegated grant outlive the delegator’s own', async () => {
    const until = new Date(Date.now() + 3600_000).toISOString();
    expect(
      (await grant(owner, 'd-keeper', { modes: ['read', 'control'], scope: '/medical/', expiresAt: until }))
        .status,
    ).toBe(200);
    const open = await grant(owner, 'd-viewer', { modes: ['read'], scope: '/medical/' }, 'd-keeper');
    expect(open.status).toBe(200);
    expect(((await open.json()) as { entries: { expiresAt?: string }[] }).entries).toEqual([
      expect.objectContaining({ expiresAt: until }),
    ]);
    const later = new Date(Date.now() + 7200_000).toISOString();
    const longer = await grant(
      owner,
      'd-viewer',
      { modes: ['read'], scope: '/medical/', expiresAt: later },
      'd-keeper',
    );
    expect(longer.status).toBe(403);
    expect(((await longer.json()) as { detail: string }).detail).toMatch(/only until/);
  });

  it('revokes what a delegator delegated when the owner revokes it, so control cannot be handed back', async () => {
    expect((await grant(owner, 'd-clinic', { modes: ['read', 'control'], scope: '/medical/' })).status).toBe(
      200,
    );
    expect(
      (await grant(owner, 'd-insurer', { modes: ['read', 'control'], scope: '/medical/' }, 'd-clinic'))
        .status,
    ).toBe(200);
    expect((await as('d-insurer', file)).status).toBe(200);

    expect((await as(owner, `/v1/users/${owner}/grants/d-clinic`, { method: 'DELETE' })).status).toBe(204);
    expect((await as('d-clinic', file)).status).toBe(404);
    expect((await as('d-insurer', file)).status).toBe(404);
    expect((await as('d-insurer', `/v1/users/${owner}/files/medical/`)).status).toBe(404);
    const handBack = await grant(
      owner,
      'd-clinic',
      { modes: ['read', 'control'], scope: '/medical/' },
      'd-insurer',
    );
    expect(handBack.status).toBe(403);
    expect((await as('d-clinic', file)).status).toBe(404);
    expect((await grantOf('d-insurer')).effective).toEqual([]);

    // Granting the delegator again does not revive what it delegated under the revoked grant.
    expect((await grant(owner, 'd-clinic', { modes: ['read', 'control'], scope: '/medical/' })).status).toBe(
      200,
    );
    expect((await as('d-insurer', file)).status).toBe(404);
  });

  it('clips what a delegator delegated when the owner narrows its scope or takes a mode away', async () => {
    expect((await grant(owner, 'd-clinic', { modes: ['read', 'control'], scope: '/medical/' })).status).toBe(
      200,
    );
    expect((await grant(owner, 'd-lab', { modes: ['read'], scope: '/medical/' }, 'd-clinic')).status).toBe(
      200,
    );
    expect([(await as('d-lab', file)).status, (await as('d-lab', other)).status]).toEqual([200, 200]);

    expect(
      (await grant(owner, 'd-clinic', { scopes: [{ modes: ['read', 'control'], scope: '/medical/2025/' }] }))
        .status,
    ).toBe(200);
    expect([(await as('d-lab', file)).status, (await as('d-lab', other)).status]).toEqual([200, 404]);
    expect((await grantOf('d-lab')).effective).toEqual([
      expect.objectContaining({ scope: '/medical/2025/', modes: ['read'], grantedBy: 'd-clinic' }),
    ]);

    expect(
      (await grant(owner, 'd-clinic', { scopes: [{ modes: ['control'], scope: '/medical/2025/' }] })).status,
    ).toBe(200);
    expect((await as('d-lab', file)).status).toBe(404);
  });

  it('counts no chain of delegations longer than GRANT_DELEGATION_DEPTH (2 here), and says so', async () => {
    expect((await grant(owner, 'd-chain-1', { modes: ['read', 'control'], scope: '/medical/' })).status).toBe(
      200,
    );
    expect(
      (await grant(owner, 'd-chain-2', { modes: ['read', 'control'], scope: '/medical/' }, 'd-chain-1'))
        .status,
    ).toBe(200);
    expect(
      (await grant(owner, 'd-chain-3', { modes: ['read', 'control'], scope: '/medical/' }, 'd-chain-2'))
        .status,
    ).toBe(200);
    expect((await as('d-chain-3', file)).status).toBe(200);
    const fourth = await grant(owner, 'd-chain-4', { modes: ['read'], scope: '/medical/' }, 'd-chain-3');
    expect(fourth.status).toBe(403);
    expect(((await fourth.json()) as { detail: string }).detail).toMatch(/longest chain/);
    expect((await as('d-chain-4', file)).status).toBe(404);
  });

  it('keeps a delegator from removing modes it could not revoke by setting the scope again', async () => {
    expect(
      (
        await grant(owner, 'd-clinic', {
          scopes: [{ modes: ['read', 'append', 'control'], scope: '/medical/' }],
        })
      ).status,
    ).toBe(200);
    expect(
      (await grant(owner, 'd-patron', { modes: ['read', 'delete'], scope: '/medical/2024/' })).status,
    ).toBe(200);
    expect((await as('d-clinic', `/v1/users/${owner}/grants/d-patron`, { method: 'DELETE' })).status).toBe(
      403,
    );
    const replaced = await grant(owner, 'd-patron', { modes: ['read'], scope: '/medical/2024/' }, 'd-clinic');
    expect(replaced.status).toBe(403);
    expect(((await replaced.json()) as { detail: string }).detail).toMatch(/delete .* cannot revoke/);
    const cleared = await grant(owner, 'd-patron', { modes: [], scope: '/medical/2024/' }, 'd-clinic');
    expect(cleared.status).toBe(403);
    expect((await grantOf('d-patron')).entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: '/medical/2024/', modes: ['read', 'delete'], grantedBy: owner }),
      ]),
    );
    expect((await as('d-patron', other, { method: 'DELETE' })).status).toBe(204);

    // What it could revoke it may narrow; the owner's entry stays the owner's.
    expect(
      (await grant(owner, 'd-aide', { modes: ['read', 'append'], scope: '/medical/2024/' })).status,
    ).toBe(200);
    expect(
      (await grant(owner, 'd-aide', { modes: ['read'], scope: '/medical/2024/' }, 'd-clinic')).status,
    ).toBe(200);
    const lab = await grantOf('d-aide');
    expect(lab.entries.filter((e) => e.scope === '/medical/2024/')).toEqual([
      expect.objectContaining({ modes: ['read'], grantedBy: owner }),
      expect.objectContaining({ modes: ['read'], grantedBy: 'd-clinic' }),
    ]);
  });

  it('shows a control holder only the entries of another grant within the scopes it controls', async () => {
    expect(
      (await grant(owner, 'd-clinic', { scopes: [{ modes: ['read', 'control'], scope: '/medical/' }] }))
        .status,
    ).toBe(200);
    expect((await grant(owner, 'd-finance', { modes: ['read', 'write'], scope: '/finance/' })).status).toBe(
      200,
    );
    expect((await as('d-clinic', `/v1/users/${owner}/grants/d-finance`)).status).toBe(404);
    expect((await grant(owner, 'd-finance', { modes: ['read'], scope: '/medical/2025/' })).status).toBe(200);
    const seen = await as('d-clinic', `/v1/users/${owner}/grants/d-finance`);
    expect(seen.status).toBe(200);
    const body = (await seen.json()) as { entries: { scope: string }[]; effective: { scope: string }[] };
    expect(body.entries.map((e) => e.scope)).toEqual(['/medical/2025/']);
    expect(body.effective.map((e) => e.scope)).toEqual(['/medical/2025/']);
    const own = (await (await as('d-finance', `/v1/users/${owner}/grants/d-finance`)).json()) as {
      entries: { scope: string }[];
    };
    expect(own.entries.map((e) => e.scope).sort()).toEqual(['/finance/', '/medical/2025/']);
  });
});

/**
 * A stranger cannot grow someone's audit log without bound (issue 12, item 11): a flood of refused
 * requests stores a few entries per window and worker, which still say who was refused and how often;
 * the accesses of a grantee stay recorded one by one.
 */
describe('audit under a flood of refusals', () => {
  const owner = 'flood-owner';
  type Entry = { actor: string; action: string; outcome: string; path?: string; count?: number };
  const audit = async () => {
    const res = await as(owner, `/v1/users/${owner}/audit?limit=1000`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { entries: Entry[] }).entries;
  };

  beforeAll(async () => {
    for (const name of [owner, 'flood-stranger', 'flood-reader']) tokens[name] = await signUp(base, name);
    expect((await put(owner, `/v1/users/${owner}/files/medical/a.pdf`, 'a')).status).toBe(201);
    expect((await grant(owner, 'flood-reader', { modes: ['read'], scope: '/medical/' })).status).toBe(200);
  });

  it('keeps 500 refused requests of a stranger in a bounded number of entries that count them all', async () => {
    const started = Date.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (sent < 500) {
          sent++;
          const res = await as('flood-stranger', `/v1/users/${owner}/files/medical/${sent}.pdf`);
          expect(res.status).toBe(404);
          await res.body?.cancel();
        }
      }),
    );
    // Each worker records at most 5 refusals one by one per 4 s window, and one summary per window.
    const windows = Math.ceil((Date.now() - started) / 4000) + 1;
    await expect
      .poll(
        async () =>
          (await audit())
            .filter((e) => e.actor === 'flood-stranger')
            .reduce((sum, e) => sum + (e.count ?? 1), 0),
        { timeout: 20_000, interval: 500 },
      )
      .toBe(500);
    const stranger = (await audit()).filter((e) => e.actor === 'flood-stranger');
    expect(stranger.length).toBeLessThanOrEqual(3 * windows * 6);
    expect(stranger.length).toBeLessThan(100);
    expect(stranger.every((e) => e.action === 'read' && e.outcome === 'not_found')).toBe(true);
    expect(stranger.some((e) => (e.count ?? 1) > 1)).toBe(true);
  }, 60_000);

  it('still records every access of a grantee one by one', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await as('flood-reader', `/v1/users/${owner}/files/medical/a.pdf`);
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    const reads = (await audit()).filter((e) => e.actor === 'flood-reader' && e.outcome === 'allowed');
    expect(reads).toHaveLength(30);
    expect(reads.every((e) => e.count === undefined)).toBe(true);
  });
});
