/**
 * One caller's abuse costs that caller, never the others (docs/security/fairness.md), end to end with
 * real processes on MinIO: a principal that opens many uploads which send a little and then stall gets
 * 429 + Retry-After past its transfer limit, while another principal's requests, token checks included,
 * all answer 2xx promptly. With several hostile accounts together stalling more uploads than there are
 * transfer slots, everyone else's requests, uploads included, still run: transfers never take command
 * slots, and a stalled one gives its transfer slot back. Slow sign-ups from one address are bounded too.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const WORKERS = 2;
const COMMAND_SLOTS = 4; // per worker
const TRANSFER_SLOTS = 8; // per worker
const TRANSFERS_PER_CALLER = 6;
/** Generous for a busy 2-core machine; a victim queued behind stalled uploads waits STREAM_IDLE_MS. */
const VICTIM_BOUND_MS = 4000;

let minio: MinioServer;
let stack: LocalStack;
let base: URL;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: WORKERS,
    env: {
      ...minioEnv(minio, 'fairness'),
      WORKER_CAPACITY: String(COMMAND_SLOTS),
      WORKER_TRANSFER_CAPACITY: String(TRANSFER_SLOTS),
      API_LIMIT_TRANSFERS_PER_CALLER: String(TRANSFERS_PER_CALLER),
      STREAM_IDLE_MS: '25000',
    },
  });
  base = new URL(stack.apiUrl);
  for (const name of ['alice', 'mallory', 'sybil-1', 'sybil-2', 'sybil-3', 'sybil-4'])
    tokens[name] = await signUp(stack.apiUrl, name);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

interface Stalled {
  status: Promise<{ status: number; retryAfter?: string; type?: string; body: string }>;
  destroy: () => void;
}

/** An upload that declares 1 MiB, sends 100 bytes, then sends nothing more (until destroyed). */
function stalledUpload(who: string, path: string): Stalled {
  return stalledPut(`/v1/users/${who}/files/${path}`, bearer(tokens[who] ?? ''), 1024 * 1024);
}

/** A PUT that declares `length` bytes, sends 100, then nothing more; from `localAddress` if given. */
function stalledPut(
  path: string,
  headers: Record<string, string>,
  length: number,
  localAddress?: string,
): Stalled {
  const request = http.request({
    host: base.hostname,
    port: base.port,
    method: 'PUT',
    path,
    agent: false,
    ...(localAddress === undefined ? {} : { localAddress }),
    headers: { ...headers, 'content-type': 'text/plain', 'content-length': length },
  });
  const status = new Promise<{ status: number; retryAfter?: string; type?: string; body: string }>(
    (resolve) => {
      request.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(res.headers['retry-after'] === undefined ? {} : { retryAfter: res.headers['retry-after'] }),
            ...(res.headers['content-type'] === undefined ? {} : { type: res.headers['content-type'] }),
            body,
          }),
        );
        res.on('error', () => resolve({ status: -1, body }));
      });
      request.on('error', () => resolve({ status: -1, body: '' }));
    },
  );
  request.write('x'.repeat(100));
  return { status, destroy: () => request.destroy() };
}

/** Settles with what answered within `ms`; the rest are still pending (stalled). */
async function answeredWithin(stalled: Stalled[], ms: number) {
  const answered: Awaited<Stalled['status']>[] = [];
  for (const s of stalled) void s.status.then((r) => answered.push(r));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return answered;
}

const as = (who: string, path: string, init: RequestInit = {}, token = tokens[who] ?? '') =>
  fetch(new URL(path, base), {
    ...init,
    headers: { ...bearer(token), ...(init.headers as Record<string, string> | undefined) },
  });

/** Runs the victim's ordinary work; every step must answer 2xx within the bound. */
async function victimRound(round: number, withUpload: boolean) {
  const steps: { name: string; run: () => Promise<Response> }[] = [
    { name: 'profile', run: () => as('alice', '/v1/users/alice') },
    { name: 'list', run: () => as('alice', '/v1/users/alice/files/') },
    {
      // a token never seen by the api: its check (auth.resolve) goes to a worker
      name: 'fresh token check',
      run: async () => {
        const issued = await as('alice', '/v1/users/alice/tokens', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        const token = ((await issued.json()) as { token: string }).token;
        return as('alice', '/v1/users/alice', {}, token);
      },
    },
  ];
  if (withUpload) {
    steps.push(
      {
        name: 'upload',
        run: () =>
          as('alice', `/v1/users/alice/files/notes/r${round}.txt`, {
            method: 'PUT',
            headers: { 'content-type': 'text/plain' },
            body: `round ${round}`,
          }),
      },
      { name: 'download', run: () => as('alice', `/v1/users/alice/files/notes/r${round}.txt`) },
    );
  }
  const results: { name: string; status: number; ms: number }[] = [];
  for (const step of steps) {
    const started = performance.now();
    const res = await Promise.race([
      step.run(),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), VICTIM_BOUND_MS * 3)),
    ]);
    if (res !== undefined) await res.arrayBuffer();
    results.push({ name: step.name, status: res?.status ?? 0, ms: Math.round(performance.now() - started) });
  }
  return results;
}

describe('a hostile caller costs only itself', () => {
  it("answers 429 + Retry-After past one principal's transfer limit; another principal's requests, token checks included, stay 2xx and prompt", async () => {
    const attack = Array.from({ length: 40 }, (_, i) => stalledUpload('mallory', `stall/${i}.bin`));
    try {
      const refused = await answeredWithin(attack, 2000);
      // Past its limit the attacker is refused at once, with a problem and a time to come back.
      expect(refused.length).toBe(40 - TRANSFERS_PER_CALLER);
      for (const r of refused) {
        expect(r.status).toBe(429);
        expect(r.retryAfter).toMatch(/^[1-9]\d*$/);
        expect(r.type).toContain('application/problem+json');
        expect(JSON.parse(r.body)).toMatchObject({ status: 429 });
      }
      for (let round = 0; round < 3; round++) {
        const results = await victimRound(round, true);
        for (const r of results) {
          expect({ ...r, ok: r.status >= 200 && r.status < 300 }).toMatchObject({ name: r.name, ok: true });
          expect(r.ms, `${r.name} took ${r.ms} ms`).toBeLessThan(VICTIM_BOUND_MS);
        }
      }
      const metrics = await (await fetch(new URL('/metrics', base))).text();
      expect(metrics).toMatch(/podstore_api_throttled_total\{reason="transfers"\} (\d+)/);
      const counted = Number(/podstore_api_throttled_total\{reason="transfers"\} (\d+)/.exec(metrics)?.[1]);
      expect(counted).toBeGreaterThanOrEqual(40 - TRANSFERS_PER_CALLER);
    } finally {
      for (const a of attack) a.destroy();
    }
  }, 120_000);

  it("keeps everyone's requests prompt, uploads included, while hostile accounts stall more transfers than there are slots", async () => {
    // 4 accounts × 6 uploads = 24 > 2 workers × 8 transfer slots: every transfer slot is taken by a
    // stalled upload, until the broker parks them (nothing moves) and lends their slots.
    const attackers = ['sybil-1', 'sybil-2', 'sybil-3', 'sybil-4'];
    const attack = attackers.flatMap((who) =>
      Array.from({ length: TRANSFERS_PER_CALLER }, (_, i) => stalledUpload(who, `stall/${i}.bin`)),
    );
    try {
      const answered = await answeredWithin(attack, 2000);
      expect(answered).toEqual([]); // within their limits: all accepted, all stalled
      for (let round = 0; round < 3; round++) {
        const results = await victimRound(round, true);
        for (const r of results) {
          expect({ ...r, ok: r.status >= 200 && r.status < 300 }).toMatchObject({ name: r.name, ok: true });
          expect(r.ms, `${r.name} took ${r.ms} ms`).toBeLessThan(VICTIM_BOUND_MS);
        }
      }
    } finally {
      for (const a of attack) a.destroy();
    }
  }, 120_000);

  it('bounds unauthenticated requests per address: slow sign-ups from one address get 429, others sign up at once', async () => {
    // Another loopback address stands for another client: 127.0.0.2 reaches the api on 127.0.0.1.
    const slow = Array.from({ length: 40 }, (_, i) =>
      stalledPut(`/v1/users/slow-${i}`, { 'content-type': 'application/json' }, 4096, '127.0.0.2'),
    );
    try {
      const refused = await answeredWithin(slow, 2000);
      expect(refused.length).toBe(40 - 32); // API_LIMIT_ANONYMOUS_PER_IP, default 32
      for (const r of refused) {
        expect(r.status).toBe(429);
        expect(r.retryAfter).toMatch(/^[1-9]\d*$/);
      }
      const started = performance.now();
      const signedUp = await fetch(new URL('/v1/users/carol', base), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(signedUp.status).toBe(201);
      const token = ((await signedUp.json()) as { token: string }).token;
      const profile = await as('carol', '/v1/users/carol', {}, token);
      expect(profile.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(VICTIM_BOUND_MS);
      const metrics = await (await fetch(new URL('/metrics', base))).text();
      expect(Number(/podstore_api_throttled_total\{reason="anonymous"\} (\d+)/.exec(metrics)?.[1])).toBe(8);
    } finally {
      for (const s of slow) s.destroy();
    }
  }, 60_000);
});
