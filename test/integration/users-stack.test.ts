/**
 * The users resource end to end: real api, broker and 3 workers as processes, on a real MinIO.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { isProblemCode } from '../../protocol/problem-types.ts';
import { ActingFetch, bearer } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { logRecords, startTestStack } from '../helpers/test-stack.ts';

const acting = new ActingFetch();
const fetch = acting.fetch;

let minio: MinioServer;
let stack: LocalStack;
let base: string;

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 3,
    workerMetrics: true,
    env: {
      ...minioEnv(minio, 'users-stack'),
      LOG_LEVEL: 'debug',
    },
  });
  base = stack.apiUrl;
});

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

const json = (body: unknown, type = 'application/json') => ({
  headers: { 'content-type': type },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function expectProblem(res: Response, status: number, detail: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    code: string;
  };
  expect(problem.status).toBe(status);
  // A stable problem type per error (docs/api.md#errors), named again in `code`.
  expect(isProblemCode(problem.code)).toBe(true);
  expect(problem.type).toBe(`urn:podstore:problem:${problem.code}`);
  expect(problem.title.length).toBeGreaterThan(0);
  expect(problem.detail).toMatch(detail);
}

describe('users through api → broker → workers → MinIO', () => {
  it('creates, reads, merge-patches and deletes a user', async () => {
    const url = `${base}/v1/users/myusername`;
    const created = await fetch(url, { method: 'PUT', ...json({ firstName: 'myFirstName' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/users/myusername');
    expect(await created.json()).toMatchObject({
      username: 'myusername',
      kind: 'person',
      profile: { firstName: 'myFirstName' },
    });

    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ firstName: 'myFirstName' });
    const etag = got.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);

    const patched = await fetch(url, {
      method: 'PATCH',
      ...json({ lastName: 'X' }, 'application/merge-patch+json'),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toEqual({ firstName: 'myFirstName', lastName: 'X' });
    expect(patched.headers.get('etag')).not.toBe(etag);

    const replaced = await fetch(url, { method: 'PUT', ...json({ nickname: 'me' }) });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toEqual({ nickname: 'me' });

    const token = acting.tokens.get('myusername') ?? '';
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(204);
    // The account is gone, and its tokens with it.
    await expectProblem(await fetch(url, { headers: bearer(token) }), 401, /unknown, expired or revoked/);
    await expectProblem(
      await fetch(`${base}/v1/users/Bad..Name`, { method: 'PUT', ...json({}) }),
      400,
      /lower-case/,
    );
  });

  it('refuses bad input with 4xx problem+json and writes nothing', async () => {
    const url = `${base}/v1/users/validation-user`;
    expect((await fetch(`${base}/v1/users/validator`, { method: 'PUT', ...json({}) })).status).toBe(201);
    await expectProblem(await fetch(url, { method: 'PUT', ...json('{"a":') }), 400, /JSON/i);
    await expectProblem(await fetch(url, { method: 'PUT', ...json([1, 2]) }), 400, /object/);
    await expectProblem(await fetch(url, { method: 'PUT', ...json('"text"') }), 400, /object/);
    await expectProblem(
      await fetch(url, { method: 'PUT', ...json({ a: 1 }, 'text/plain') }),
      415,
      /application\/json/,
    );
    await expectProblem(await fetch(url, { method: 'PUT' }), 415, /application\/json/);
    await expectProblem(
      await fetch(url, { method: 'PUT', ...json({ a: 1 }, 'application/merge-patch+json') }),
      415,
      /application\/json/,
    );
    await expectProblem(
      await fetch(url, { method: 'PUT', ...json({ big: 'x'.repeat(64 * 1024) }) }),
      413,
      /large|limit/i,
    );
    await expectProblem(await fetch(url, { method: 'PUT', ...json('{"__proto__":{"x":1}}') }), 400, /JSON/);
    await expectProblem(
      await fetch(`${base}/v1/users/${'a'.repeat(64)}`, { as: 'validator' }),
      400,
      /63 characters/,
    );
    await expectProblem(await fetch(`${base}/v1/nothing`), 404, /no route/);
    expect((await fetch(url, { method: 'PUT', ...json({}) })).status).toBe(201); // nothing was written before
  });

  it('honours If-None-Match and If-Match, and answers 304 for a current etag', async () => {
    const url = `${base}/v1/users/conditional`;
    const first = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
      body: '{"v":1}',
    });
    expect(first.status).toBe(201);
    const etag = first.headers.get('etag') as string;
    const again = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
      body: '{"v":2}',
    });
    await expectProblem(again, 412, /If-None-Match/);
    const stale = await fetch(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': '"stale"' },
      body: '{"v":3}',
    });
    await expectProblem(stale, 412, /If-Match/);
    const ok = await fetch(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': etag },
      body: '{"v":3}',
    });
    expect(ok.status).toBe(200);
    const okEtag = ok.headers.get('etag') as string;
    // Every tag of an If-Match list counts, not only the first.
    const listed = await fetch(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': `"stale", ${okEtag}` },
      body: '{"v":4}',
    });
    expect(listed.status).toBe(200);
    const newEtag = listed.headers.get('etag') as string;
    await expectProblem(
      await fetch(url, { method: 'DELETE', headers: { 'if-match': `"stale", ${okEtag}` } }),
      412,
      /If-Match/,
    );
    expect((await fetch(url, { headers: { 'if-none-match': newEtag } })).status).toBe(304);
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(200);
  });

  it('lets exactly one of many concurrent create-only PUTs win', async () => {
    const url = `${base}/v1/users/race-winner`;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        fetch(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'if-none-match': '*' },
          body: JSON.stringify({ i }),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(11);
  });

  it('keeps every merge patch when many run at once (optimistic concurrency)', async () => {
    const url = `${base}/v1/users/many-patches`;
    expect((await fetch(url, { method: 'PUT', ...json({}) })).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fetch(url, { method: 'PATCH', ...json({ [`k${i}`]: i }, 'application/merge-patch+json') }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const profile = (await (await fetch(url)).json()) as Record<string, number>;
    expect(Object.keys(profile).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('sends no Server or X-Powered-By header and carries the request id through api, broker and worker', async () => {
    const requestId = `trace-${Date.now()}`;
    await fetch(`${base}/v1/users/tracer`, { method: 'PUT', ...json({}) });
    const res = await fetch(`${base}/v1/users/tracer`, { headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    expect(res.headers.get('server')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-request-id')).toBe(requestId);
    await new Promise((r) => setTimeout(r, 200));
    const seenBy = (lines: string[]) => logRecords(lines).some((r) => r.requestId === requestId);
    expect(seenBy(stack.api?.lines ?? [])).toBe(true);
    expect(seenBy(stack.broker?.lines ?? [])).toBe(true);
    // The token check and the command itself may run on different workers: both log the id.
    expect(stack.workers.filter((w) => seenBy(w.lines)).length).toBeGreaterThanOrEqual(1);
  });

  it('spreads 3,000 requests over all 3 workers (their own counters show it)', async () => {
    const count = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^podstore_worker_commands_total\{[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    };
    const basePort = stack.options.workerMetricsBasePort;
    const before = await Promise.all([0, 1, 2].map((i) => count(basePort + i)));
    const users = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
    for (const name of users) await fetch(`${base}/v1/users/${name}`, { method: 'PUT', ...json({ n: 0 }) });
    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 3000) {
          const i = next++;
          const url = `${base}/v1/users/${users[i % users.length]}`;
          const res =
            i % 3 === 0
              ? await fetch(url, { method: 'PATCH', ...json({ n: i }, 'application/merge-patch+json') })
              : await fetch(url);
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 200: 3000 });
    const after = await Promise.all([0, 1, 2].map((i) => count(basePort + i)));
    const handled = after.map((n, i) => n - (before[i] ?? 0));
    expect(handled.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3030);
    for (const n of handled) expect(n).toBeGreaterThan(300); // each worker took a real share
  }, 120_000);

  it("sends one pod's commands to one worker while it has room, and another pod's to its own", async () => {
    const count = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^podstore_worker_commands_total\{command="users.get"[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    };
    const ports = [0, 1, 2].map((i) => stack.options.workerMetricsBasePort + i);
    // Profile reads only (the api's health checks go to any worker). One request at a time: the pod's home always has a free slot.
    const homeOf = async (name: string) => {
      await fetch(`${base}/v1/users/${name}`, { method: 'PUT', ...json({ n: 0 }) });
      const before = await Promise.all(ports.map(count));
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${base}/v1/users/${name}`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      const handled = (await Promise.all(ports.map(count))).map((n, i) => n - (before[i] ?? 0));
      expect(handled.filter((n) => n > 0).length, `${name}: ${handled}`).toBe(1);
      expect(Math.max(...handled)).toBeGreaterThanOrEqual(40);
      return handled.findIndex((n) => n > 0);
    };
    // Pods spread over the workers: among a dozen, more than one home.
    const homes = new Set<number>();
    for (let i = 0; i < 12; i++) homes.add(await homeOf(`home-${i}`));
    expect(homes.size).toBeGreaterThan(1);
  }, 120_000);

  it('reports readiness and liveness', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toMatch(/^ALIVE \S+/);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', workers: 3 });
    const metrics = await fetch(`${base}/metrics`);
    expect(await metrics.text()).toMatch(
      /podstore_api_requests_total\{method="GET",route="\/v1\/users\/:username",status="200"\}/,
    );
  });
});
