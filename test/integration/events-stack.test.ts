/**
 * Events end to end on real processes: MinIO, nats-server with JetStream, a broker, 2 workers and two
 * api replicas. Live events across replicas, resuming with Last-Event-ID, filters, no event for a
 * failed write, signed webhook deliveries with retries, the SSRF guard, and a NATS restart.
 */
import { createHmac } from 'node:crypto';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { EVENTS_STREAM } from '../../protocol/events/event.ts';
import { ActingFetch, bearer } from '../helpers/accounts.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { startTestStack } from '../helpers/test-stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const acting = new ActingFetch();
const fetch = acting.fetch;

let minio: MinioServer;
let nats: NatsServer;
let receiver: WebhookReceiver;
let stack: LocalStack;
let api2: ApiProcess;
/** Replica 1 (the stack's api) and replica 2 (started here). */
let one: string;
let two: string;
const clients: SseClient[] = [];

interface Ev {
  id: string;
  seq: number;
  time: string;
  kind: string;
  owner: string;
  actor: string | null;
  path?: string;
  etag?: string;
}

beforeAll(async () => {
  [minio, nats, receiver] = await Promise.all([
    startMinio(),
    startNats({ jetstream: true }),
    startWebhookReceiver(),
  ]);
  const env = { NATS_URL: nats.url, SSE_HEARTBEAT_MS: '500' };
  stack = await startTestStack({
    workers: 2,
    env: {
      ...env,
      ...minioEnv(minio, 'events-stack'),
      WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`,
      WEBHOOK_RETRY_BASE_MS: '300',
      WEBHOOK_TIMEOUT_MS: '2000',
    },
  });
  api2 = await startApiProcess({ ...env, BROKER_FRONTEND_URL: stack.frontendEndpoint });
  one = stack.apiUrl;
  two = api2.url;
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await api2?.stop();
  await stack?.stop();
  await Promise.all([minio?.stop(), nats?.stop(), receiver?.close()]);
});

async function sse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const owner = /\/v1\/users\/([^/]+)/.exec(url)?.[1] ?? '';
  const client = await SseClient.open(url, { ...bearer(acting.tokens.get(owner) ?? ''), ...headers });
  clients.push(client);
  return client;
}

const jsonBody = (body: unknown) => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function put(base: string, user: string, profile: object, headers: Record<string, string> = {}) {
  return fetch(`${base}/v1/users/${user}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(profile),
  });
}

async function patch(base: string, user: string, change: object, headers: Record<string, string> = {}) {
  return fetch(`${base}/v1/users/${user}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json', ...headers },
    body: JSON.stringify(change),
  });
}

const unquote = (etag: string | null) => (etag ?? '').replace(/^"|"$/g, '');

describe('live events', () => {
  it('shows a change made through one replica to an SSE client of the other within 1 s', async () => {
    expect((await put(one, 'live-user', { v: 0 })).status).toBe(201);
    const client = await sse(`${two}/v1/users/live-user/events`);
    expect(client.status).toBe(200);
    expect(client.response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    const res = await patch(one, 'live-user', { v: 1 });
    expect(res.status).toBe(200);
    const committed = performance.now();
    await client.until((c) => c.events.length >= 1, 5000, 'event');
    const latency = performance.now() - committed;
    expect(latency).toBeLessThan(1000);

    const [event] = client.json<Ev>();
    expect(event).toMatchObject({ kind: 'user.patched', owner: 'live-user', actor: 'live-user' });
    expect(event?.etag).toBe(unquote(res.headers.get('etag')));
    expect(event?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(event?.time ?? ''))).toBe(false);
    expect(client.events[0]?.id).toBe(String(event?.seq));
    client.close();
  });

  it('resumes after Last-Event-ID with every missed event, in order, once', async () => {
    expect((await put(one, 'resumer', {})).status).toBe(201);
    const first = await sse(`${two}/v1/users/resumer/events`);
    expect((await patch(one, 'resumer', { n: 0 })).status).toBe(200);
    await first.until((c) => c.events.length === 1, 5000, 'first event');
    const lastSeen = first.events[0]?.id as string;
    first.close();

    const etags: string[] = [];
    for (let n = 1; n <= 100; n++) {
      const res = await patch(n % 2 === 0 ? one : two, 'resumer', { n });
      expect(res.status).toBe(200);
      etags.push(unquote(res.headers.get('etag')));
    }

    const resumed = await sse(`${one}/v1/users/resumer/events`, { 'last-event-id': lastSeen });
    const byQuery = await sse(`${two}/v1/users/resumer/events?lastEventId=${lastSeen}`);
    for (const client of [resumed, byQuery]) {
      await client.until((c) => c.events.length >= 100, 15_000, '100 events');
      const events = client.json<Ev>();
      expect(events.map((e) => e.etag)).toEqual(etags);
      const seqs = events.map((e) => e.seq);
      expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number))).toBe(true);
      expect(seqs[0]).toBeGreaterThan(Number(lastSeen));
      expect(new Set(events.map((e) => e.id)).size).toBe(100);
    }

    // And the stream goes on live after the catch-up.
    const next = await patch(one, 'resumer', { n: 101 });
    await resumed.until((c) => c.events.length === 101, 5000, 'the live event after catch-up');
    expect(resumed.json<Ev>()[100]?.etag).toBe(unquote(next.headers.get('etag')));
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed.events).toHaveLength(101);
  });

  it('filters by kind and by folder prefix, and keeps owners apart', async () => {
    expect((await put(one, 'filtered', {})).status).toBe(201);
    expect((await put(one, 'bystander', {})).status).toBe(201);
    const all = await sse(`${two}/v1/users/filtered/events`);
    const lifecycle = await sse(`${one}/v1/users/filtered/events?kinds=user.created,user.deleted`);
    const inFolder = await sse(`${two}/v1/users/filtered/events?prefix=docs/`);

    expect((await put(two, 'filtered', { a: 1 })).status).toBe(200);
    expect((await patch(one, 'bystander', { b: 1 })).status).toBe(200);
    expect((await patch(one, 'filtered', { b: 2 })).status).toBe(200);
    expect((await fetch(`${one}/v1/users/filtered`, { method: 'DELETE' })).status).toBe(204);
    expect((await put(one, 'filtered', { again: true })).status).toBe(201);

    await all.until((c) => c.events.length >= 3, 5000, '3 events');
    await lifecycle.until((c) => c.events.length >= 1, 5000, '1 event');
    await new Promise((r) => setTimeout(r, 300));
    // The streams were opened on the deleted account: they end with its deletion, and the next account
    // of that name (its user.created) is not theirs to see.
    expect(all.json<Ev>().map((e) => e.kind)).toEqual(['user.updated', 'user.patched', 'user.deleted']);
    expect(all.json<Ev>().every((e) => e.owner === 'filtered')).toBe(true);
    expect(all.json<Ev>()[2]?.etag).toBeUndefined();
    expect(lifecycle.json<Ev>().map((e) => e.kind)).toEqual(['user.deleted']);
    expect(inFolder.events).toEqual([]); // user events have no path
  });

  it('publishes nothing for a failed write', async () => {
    const created = await put(one, 'failing', { v: 1 });
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag') as string;
    const client = await sse(`${one}/v1/users/failing/events`);

    expect((await put(one, 'failing', { v: 2 }, { 'if-none-match': '*' })).status).toBe(412);
    expect((await put(two, 'failing', { v: 2 }, { 'if-match': '"stale"' })).status).toBe(412);
    expect((await patch(one, 'failing', { v: 2 }, { 'if-match': '"stale"' })).status).toBe(412);
    expect(
      (await fetch(`${one}/v1/users/failing`, { method: 'DELETE', headers: { 'if-match': '"x"' } })).status,
    ).toBe(412);
    expect((await put(one, 'failing', [1])).status).toBe(400);
    const good = await patch(one, 'failing', { v: 3 }, { 'if-match': etag });
    expect(good.status).toBe(200);

    await client.until((c) => c.events.length >= 1, 5000, 'event');
    await new Promise((r) => setTimeout(r, 300));
    expect(client.json<Ev>().map((e) => [e.kind, e.etag])).toEqual([
      ['user.patched', unquote(good.headers.get('etag'))],
    ]);

    // From the start of the stream, the owner has exactly two events: the creation and the good patch.
    const history = await sse(`${two}/v1/users/failing/events`, { 'last-event-id': '0' });
    await history.until((c) => c.events.length >= 2, 5000, 'history');
    await new Promise((r) => setTimeout(r, 300));
    expect(history.json<Ev>().map((e) => e.kind)).toEqual(['user.created', 'user.patched']);
  });

  it('removes the server-side consumer of a stream when its client goes away', async () => {
    expect((await put(one, 'leaver', {})).status).toBe(201);
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      const count = async () => (await jsm.streams.info(EVENTS_STREAM)).state.consumer_count;
      const before = await count();
      const leaving = await Promise.all([1, 2, 3].map(() => sse(`${two}/v1/users/leaver/events`)));
      expect(await count()).toBe(before + 3);
      for (const client of leaving) client.close();
      const until = Date.now() + 5000;
      while ((await count()) > before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(await count()).toBe(before);
    } finally {
      await nc.close();
    }
  });

  it('shows a grantee only the file events in the scopes it can read, and strangers nothing', async () => {
    expect((await put(one, 'scoped-owner', {})).status).toBe(201);
    expect((await put(one, 'scoped-reader', {})).status).toBe(201);
    expect((await put(one, 'scoped-stranger', {})).status).toBe(201);
    const granted = await fetch(`${one}/v1/users/scoped-owner/grants/scoped-reader`, {
      method: 'PUT',
      ...jsonBody({ modes: ['read'], scope: '/docs/' }),
    });
    expect(granted.status).toBe(200);
    const reader = await sse(
      `${two}/v1/users/scoped-owner/events`,
      bearer(acting.tokens.get('scoped-reader') ?? ''),
    );
    expect(reader.status).toBe(200);
    const stranger = await sse(
      `${two}/v1/users/scoped-owner/events`,
      bearer(acting.tokens.get('scoped-stranger') ?? ''),
    );
    expect(stranger.status).toBe(404);
    for (const path of ['docs/a.txt', 'private/b.txt', 'docs/c.txt']) {
      const res = await fetch(`${one}/v1/users/scoped-owner/files/${path}`, { method: 'PUT', body: path });
      expect(res.status).toBe(201);
    }
    expect((await patch(one, 'scoped-owner', { hidden: true })).status).toBe(200);
    await reader.until((c) => c.events.length >= 2, 5000, '2 file events');
    await new Promise((r) => setTimeout(r, 300));
    const seen = reader.events.map((e) => JSON.parse(e.data) as { kind: string; path?: string });
    expect(seen.map((e) => `${e.kind} ${e.path}`)).toEqual([
      'file.created docs/a.txt',
      'file.created docs/c.txt',
    ]);
  });

  it('refuses a revoked token on the very next request on every api replica', async () => {
    expect((await put(one, 'revoker', {})).status).toBe(201);
    const issued = await fetch(`${one}/v1/users/revoker/tokens`, {
      method: 'POST',
      ...jsonBody({ label: 'x' }),
    });
    const { id, token } = (await issued.json()) as { id: string; token: string };
    // Both replicas have resolved (and cached) the token.
    for (const api of [one, two])
      expect((await fetch(`${api}/v1/users/revoker`, { headers: bearer(token) })).status).toBe(200);
    expect((await fetch(`${one}/v1/users/revoker/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    const until = Date.now() + 300; // the invalidation crosses NATS in a few milliseconds
    let status = 0;
    while (Date.now() < until && status !== 401)
      status = (await fetch(`${two}/v1/users/revoker`, { headers: bearer(token) })).status;
    expect(status).toBe(401);
    expect((await fetch(`${one}/v1/users/revoker`, { headers: bearer(token) })).status).toBe(401);
  });

  it("ends an open event stream within seconds once its token is revoked, the owner's too", async () => {
    expect((await put(one, 'streamer', {})).status).toBe(201);
    const issued = await fetch(`${one}/v1/users/streamer/tokens`, {
      method: 'POST',
      ...jsonBody({ label: 's' }),
    });
    const { id, token } = (await issued.json()) as { id: string; token: string };
    // Opened with the second token, on the replica that did not revoke it.
    const client = await SseClient.open(`${two}/v1/users/streamer/events`, bearer(token));
    clients.push(client);
    expect(client.status).toBe(200);
    await client.until((c) => c.comments.includes('ping'), 3000, 'ping');
    expect(client.ended).toBe(false);
    expect((await fetch(`${one}/v1/users/streamer/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    await client.until((c) => c.ended, 4000, 'end of the stream');
    // The stream was ended by the server, and the token opens nothing any more.
    expect((await SseClient.open(`${two}/v1/users/streamer/events`, bearer(token))).status).toBe(401);
  });

  it('sends heartbeat comments and refuses bad requests with problem+json', async () => {
    expect((await put(one, 'quiet', {})).status).toBe(201);
    const client = await sse(`${two}/v1/users/quiet/events`);
    await client.until((c) => c.comments.includes('ping'), 3000, 'ping');
    client.close();

    const problems = [
      [await fetch(`${one}/v1/users/quiet/events?kinds=user.created,nope`), 400, /unknown event kind "nope"/],
      [
        await fetch(`${one}/v1/users/quiet/events`, { headers: { 'last-event-id': 'x' } }),
        400,
        /Last-Event-ID/,
      ],
      [await fetch(`${one}/v1/users/nobody-here/events`, { as: 'quiet' }), 404, /no user named nobody-here/],
      [await fetch(`${one}/v1/users/Bad..Name/events`, { as: 'quiet' }), 400, /lower-case/],
    ] as const;
    for (const [res, status, detail] of problems) {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { detail: string }).detail).toMatch(detail);
    }
  });
});

describe('webhooks', () => {
  const secret = 'webhook-secret-0123456789';

  async function register(owner: string, id: string, hook: object) {
    return fetch(`${one}/v1/users/${owner}/webhooks/${id}`, { method: 'PUT', ...jsonBody(hook) });
  }

  it('delivers signed events, retries after a 500, and shows the outcomes (never the secret)', async () => {
    expect((await put(one, 'hooked', {})).status).toBe(201);
    receiver.answer('/flaky', [500, 200]);
    const created = await register('hooked', 'flaky', { url: receiver.url('/flaky'), secret });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/users/hooked/webhooks/flaky');
    const patchesOnly = await register('hooked', 'patches', {
      url: receiver.url('/patches'),
      secret,
      kinds: ['user.patched'],
    });
    expect(patchesOnly.status).toBe(201);
    const view = await patchesOnly.text();
    expect(view).not.toContain(secret);
    expect(JSON.parse(view)).toMatchObject({
      id: 'patches',
      kinds: ['user.patched'],
      prefix: '',
      deliveries: [],
    });

    const replaced = await put(two, 'hooked', { a: 1 });
    expect(replaced.status).toBe(200);
    const patched = await patch(one, 'hooked', { b: 2 });
    expect(patched.status).toBe(200);

    const at = (path: string) => receiver.deliveries.filter((d) => d.path === path);
    const until = Date.now() + 15_000;
    while (Date.now() < until && (at('/flaky').length < 3 || at('/patches').length < 1)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500));

    for (const delivery of receiver.deliveries) {
      // Signed over `<timestamp>.<body>`, the timestamp that of the attempt (replays are refused).
      const timestamp = String(delivery.headers['x-podstore-timestamp']);
      expect(Math.abs(Number(timestamp) - delivery.at / 1000)).toBeLessThan(5);
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(delivery.body).digest('hex')}`;
      expect(delivery.headers['x-podstore-signature']).toBe(expected);
      expect(delivery.headers['content-type']).toBe('application/json');
      const event = JSON.parse(delivery.body.toString()) as Ev;
      expect(delivery.headers['x-podstore-event-id']).toBe(event.id);
      expect(event.owner).toBe('hooked');
    }
    const kinds = (path: string) => at(path).map((d) => (JSON.parse(d.body.toString()) as Ev).kind);
    expect(kinds('/patches')).toEqual(['user.patched']);
    // /flaky: whichever event arrived first failed (500) and came again; the other went through at once.
    // Deliveries are not ordered (protocol/events/README.md), so either event may be the first.
    const flaky = at('/flaky').map((d) => ({
      kind: (JSON.parse(d.body.toString()) as Ev).kind,
      attempt: d.headers['x-podstore-delivery-attempt'],
      at: d.at,
    }));
    const firstKind = flaky[0]?.kind;
    const otherKind = firstKind === 'user.updated' ? 'user.patched' : 'user.updated';
    expect(flaky.map((d) => d.kind).sort()).toEqual(['user.patched', 'user.updated', firstKind].sort());
    expect(flaky.filter((d) => d.kind === firstKind).map((d) => d.attempt)).toEqual(['1', '2']);
    expect(flaky.filter((d) => d.kind === otherKind).map((d) => d.attempt)).toEqual(['1']);
    const [failed, retried] = flaky.filter((d) => d.kind === firstKind);
    expect((retried?.at ?? 0) - (failed?.at ?? 0)).toBeGreaterThanOrEqual(250);

    const shown = await fetch(`${two}/v1/users/hooked/webhooks/flaky`);
    const text = await shown.text();
    expect(text).not.toContain(secret);
    const hook = JSON.parse(text) as {
      deliveries: { kind: string; ok: boolean; status: number; attempt: number }[];
    };
    const outcomes = hook.deliveries.map(({ kind, ok, status, attempt }) => ({ kind, ok, status, attempt }));
    expect(outcomes).toContainEqual({ kind: firstKind, ok: false, status: 500, attempt: 1 });
    expect(outcomes).toContainEqual({ kind: firstKind, ok: true, status: 200, attempt: 2 });
    expect(outcomes).toContainEqual({ kind: otherKind, ok: true, status: 200, attempt: 1 });

    const list = await fetch(`${one}/v1/users/hooked/webhooks`);
    const listed = await list.text();
    expect(listed).not.toContain(secret);
    expect((JSON.parse(listed) as { items: { id: string }[] }).items.map((h) => h.id).sort()).toEqual([
      'flaky',
      'patches',
    ]);

    expect((await fetch(`${one}/v1/users/hooked/webhooks/patches`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${one}/v1/users/hooked/webhooks/patches`)).status).toBe(404);
    expect((await fetch(`${one}/v1/users/hooked/webhooks/patches`, { method: 'DELETE' })).status).toBe(404);
  }, 60_000);

  it('refuses webhook URLs that reach loopback, private or link-local addresses (SSRF)', async () => {
    expect((await put(one, 'guarded', {})).status).toBe(201);
    const refused = [
      ['http://127.0.0.1:9/', /127\.0\.0\.1 is a loopback address/],
      [`http://localhost:${receiver.port}/`, /localhost resolves to .*loopback/],
      ['http://[::1]:9/', /::1 is a loopback address/],
      ['http://[::ffff:127.0.0.1]:9/', /loopback/],
      ['http://2130706433:9/', /127\.0\.0\.1 is a loopback/],
      ['http://169.254.169.254/latest/meta-data/', /link-local/],
      ['http://10.0.0.1/', /private/],
      ['http://0.0.0.0:9/', /unspecified/],
      ['ftp://example.com/', /http or https/],
      ['https://user:pw@example.com/', /credentials/],
    ] as const;
    for (const [url, detail] of refused) {
      const res = await register('guarded', 'h', { url, secret });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { detail: string }).detail, url).toMatch(detail);
    }
    expect((await fetch(`${one}/v1/users/guarded/webhooks`).then((r) => r.json())) as unknown).toEqual({
      items: [],
    });
  });

  it('validates webhook registrations', async () => {
    const cases = [
      [await register('guarded', 'h', { url: receiver.url('/x'), secret: 'short' }), 400],
      [await register('guarded', 'h', { url: receiver.url('/x'), secret, kinds: ['user.exploded'] }), 400],
      [await register('guarded', 'h', { secret }), 400],
      [await register('guarded', 'bad id!', { url: receiver.url('/x'), secret }), 400],
      [await register('nobody-at-all', 'h', { url: receiver.url('/x'), secret }), 401], // no account, no token
      [
        await fetch(`${one}/v1/users/guarded/webhooks/h`, {
          method: 'PUT',
          headers: { 'content-type': 'text/plain' },
          body: 'x',
        }),
        415,
      ],
      [await fetch(`${one}/v1/users/guarded/webhooks/none`), 404],
    ] as const;
    for (const [res, status] of cases) {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const ok = await register('guarded', 'h', { url: receiver.url('/x'), secret, prefix: '/docs/' });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ prefix: 'docs', kinds: [] });
    const again = await register('guarded', 'h', { url: receiver.url('/y'), secret });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ url: receiver.url('/y'), prefix: '' });
  });
});

describe('NATS restart', () => {
  it('keeps events flowing: a change made while NATS was down arrives after it is back', async () => {
    expect((await put(one, 'survivor', {})).status).toBe(201);
    const client = await sse(`${two}/v1/users/survivor/events`);
    expect((await patch(one, 'survivor', { before: true })).status).toBe(200);
    await client.until((c) => c.events.length === 1, 5000, 'event before the restart');

    let duringEtag = '';
    await nats.restart(async () => {
      const res = await patch(one, 'survivor', { during: true });
      expect(res.status).toBe(200); // the change is committed although its event waits
      duringEtag = unquote(res.headers.get('etag'));
    });
    await client.until((c) => c.events.length >= 2, 30_000, 'the event published during the outage');
    const after = await patch(two, 'survivor', { after: true });
    expect(after.status).toBe(200);
    await client.until((c) => c.events.length >= 3, 15_000, 'event after the restart');
    const events = client.json<Ev>();
    expect(events.map((e) => e.etag)).toEqual([
      events[0]?.etag,
      duringEtag,
      unquote(after.headers.get('etag')),
    ]);
    expect(new Set(events.map((e) => e.seq)).size).toBe(3);
  }, 90_000);

  it('stops an api with open event streams promptly and cleanly', async () => {
    const client = await sse(`${two}/v1/users/survivor/events`);
    expect(client.status).toBe(200);
    const started = Date.now();
    expect(await api2.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await client.until((c) => c.ended, 5000, 'end of stream');
  });
});
