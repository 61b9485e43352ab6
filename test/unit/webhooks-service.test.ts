/** The webhooks service on the in-memory store: stored specs, the SSRF guard, filters, outcomes, limits. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { PodEvent } from '../../protocol/events/event.ts';
import {
  type DeliveryOutcome,
  KEPT_OUTCOMES,
  MAX_WEBHOOKS_PER_OWNER,
} from '../../protocol/events/webhook.ts';
import { ErrorCode } from '../../protocol/outcome.ts';
import { IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import { parseAllowList, WebhookGuard } from '../../worker/webhooks/ssrf-guard.ts';
import { registryKey } from '../../worker/webhooks/webhook-registry.ts';
import { type StoredWebhook, WebhooksService } from '../../worker/webhooks/webhooks-service.ts';
import { failsWith } from '../helpers/command-errors.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';
import { recordingStore } from '../helpers/recording-store.ts';

const SECRET = 's'.repeat(16);
let w: MemoryWorker;
let hooks: WebhooksService;
let now: Date;
let ssrf: WebhookGuard;

beforeEach(async () => {
  now = new Date('2026-04-01T00:00:00.000Z');
  w = memoryWorker({ clock: () => now });
  await w.signUp('alice');
  // A resolver with no network: public.example is public, inside.example private, an IPv4 literal itself.
  const addressOf = (host: string) =>
    host === 'inside.example' ? '10.0.0.7' : /^[\d.]+$/.test(host) ? host : '93.184.216.34';
  ssrf = new WebhookGuard(parseAllowList(''), async (host) => [{ address: addressOf(host), family: 4 }]);
  hooks = new WebhooksService(w.store, ssrf, () => now);
});

async function incarnationOf(name: string): Promise<string> {
  return (await w.users.get(name)).incarnation;
}

async function event(kind: PodEvent['kind'], path?: string, owner = 'alice'): Promise<PodEvent> {
  return {
    id: `e-${Math.random()}`,
    time: now.toISOString(),
    kind,
    owner,
    incarnation: await incarnationOf(owner),
    actor: owner,
    ...(path === undefined ? {} : { path }),
  };
}

const outcome = (i: number): DeliveryOutcome => ({
  eventId: `e${i}`,
  seq: i,
  kind: 'file.created',
  attempt: 1,
  at: now.toISOString(),
  ok: true,
  status: 200,
});

describe('WebhooksService', () => {
  it('creates, shows without its secret, replaces, lists and deletes a webhook', async () => {
    const made = await hooks.put('alice', 'med', {
      url: 'https://public.example/hook',
      secret: SECRET,
      prefix: '/medical/',
      kinds: ['file.created'],
    });
    expect(made.created).toBe(true);
    expect(made.webhook).toEqual({
      id: 'med',
      url: 'https://public.example/hook',
      prefix: 'medical',
      kinds: ['file.created'],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      deliveries: [],
    });
    expect(JSON.stringify(await hooks.get('alice', 'med'))).not.toContain(SECRET);
    expect((await hooks.read('alice', 'med'))?.secret).toBe(SECRET);
    now = new Date(now.getTime() + 1000);
    const replaced = await hooks.put('alice', 'med', { url: 'https://public.example/other', secret: SECRET });
    expect(replaced).toMatchObject({
      created: false,
      webhook: { prefix: '', kinds: [], createdAt: made.webhook.createdAt },
    });
    expect((await hooks.list('alice')).items.map((h) => h.id)).toEqual(['med']);
    await hooks.delete('alice', 'med');
    await failsWith(hooks.get('alice', 'med'), ErrorCode.NOT_FOUND);
    await failsWith(hooks.delete('alice', 'med'), ErrorCode.NOT_FOUND);
    expect((await w.store.list('users/alice/webhooks/')).items).toEqual([]);
  });

  it('refuses private addresses, bad specs, bad ids and unknown owners', async () => {
    await failsWith(
      hooks.put('alice', 'h', { url: 'https://inside.example/', secret: SECRET }),
      ErrorCode.INVALID,
    );
    await failsWith(
      hooks.put('alice', 'h', { url: 'http://127.0.0.1:9/', secret: SECRET }),
      ErrorCode.INVALID,
    );
    await failsWith(
      hooks.put('alice', 'h', { url: 'ftp://public.example/', secret: SECRET }),
      ErrorCode.INVALID,
    );
    await failsWith(
      hooks.put('alice', 'h', { url: 'https://public.example/', secret: 'short' }),
      ErrorCode.INVALID,
    );
    await failsWith(
      hooks.put('alice', 'h', { url: 'https://public.example/', secret: SECRET, kinds: ['file.eaten'] }),
      ErrorCode.INVALID,
    );
    await failsWith(hooks.put('alice', 'h', null), ErrorCode.INVALID);
    await failsWith(
      hooks.put('alice', '../x', { url: 'https://public.example/', secret: SECRET }),
      ErrorCode.INVALID,
    );
    await failsWith(
      hooks.put('nobody', 'h', { url: 'https://public.example/', secret: SECRET }),
      ErrorCode.NOT_FOUND,
    );
    expect((await hooks.list('alice')).items).toEqual([]);
  });

  it(`holds at most ${MAX_WEBHOOKS_PER_OWNER} webhooks per owner`, async () => {
    const spec = { url: 'https://public.example/', secret: SECRET };
    for (let i = 0; i < MAX_WEBHOOKS_PER_OWNER; i++) await hooks.put('alice', `h${i}`, spec);
    await failsWith(hooks.put('alice', 'one-more', spec), ErrorCode.CONFLICT);
    expect((await hooks.put('alice', 'h0', spec)).created).toBe(false); // replacing is fine
  });

  it('matches events by kind and folder, and only of the account it was made for', async () => {
    await hooks.put('alice', 'med', {
      url: 'https://public.example/',
      secret: SECRET,
      prefix: 'medical',
      kinds: ['file.created'],
    });
    await hooks.put('alice', 'all', { url: 'https://public.example/', secret: SECRET });
    const ids = async (e: PodEvent) => (await hooks.matching(e)).map((h) => h.id).sort();
    expect(await ids(await event('file.created', 'medical/x.pdf'))).toEqual(['all', 'med']);
    expect(await ids(await event('file.created', 'medical-old/x.pdf'))).toEqual(['all']);
    expect(await ids(await event('file.deleted', 'medical/x.pdf'))).toEqual(['all']);
    expect(await ids(await event('user.patched'))).toEqual(['all']);
    const otherAccount = {
      ...(await event('file.created', 'medical/x.pdf')),
      incarnation: 'a-later-account',
    };
    expect(await ids(otherAccount)).toEqual([]);
    expect(await hooks.matching({ ...otherAccount, owner: '../etc' })).toEqual([]);
  });

  it(`keeps the last ${KEPT_OUTCOMES} delivery outcomes, newest first, and none for a gone webhook`, async () => {
    await hooks.put('alice', 'h', { url: 'https://public.example/', secret: SECRET });
    const stored = await hooks.read('alice', 'h');
    if (stored === undefined) throw new Error('webhook not stored');
    for (let i = 0; i < KEPT_OUTCOMES + 5; i++) await hooks.recordOutcome(stored, outcome(i));
    const { deliveries } = await hooks.get('alice', 'h');
    expect(deliveries.map((d) => d.seq)).toEqual(
      Array.from({ length: KEPT_OUTCOMES }, (_, i) => KEPT_OUTCOMES + 4 - i),
    );
    // Deleted and made again: the old webhook's outcomes do not land in the new one.
    await hooks.delete('alice', 'h');
    now = new Date(now.getTime() + 1000);
    await hooks.put('alice', 'h', { url: 'https://public.example/', secret: SECRET });
    await hooks.recordOutcome(stored, outcome(99));
    expect((await hooks.get('alice', 'h')).deliveries).toEqual([]);
  });

  it('answers which webhooks want an event with one store read, not a listing', async () => {
    await hooks.put('alice', 'h', { url: 'https://public.example/', secret: SECRET });
    const recorded = recordingStore(w.store);
    const ops = () => recorded.calls.map((c) => c.op);
    const dispatching = new WebhooksService(recorded.store, ssrf, () => now);
    expect((await dispatching.matching(await event('file.created', 'a.txt'))).map((h) => h.id)).toEqual([
      'h',
    ]);
    expect(ops()).toEqual(['get']);
    // An owner with no webhook: its first event writes an empty registry, every later one reads it.
    await w.signUp('bob');
    recorded.calls.length = 0;
    expect(await dispatching.matching(await event('file.created', 'a.txt', 'bob'))).toEqual([]);
    expect(ops()).toEqual(['get', 'list', 'put']);
    recorded.calls.length = 0;
    expect(await dispatching.matching(await event('file.created', 'b.txt', 'bob'))).toEqual([]);
    expect(ops()).toEqual(['get']);
  });

  /** Alice's webhooks as a version before the registry stored them, one config per folder; their keys. */
  const storeOldStyleWebhooks = async (ids: string[]): Promise<string[]> => {
    const keys: string[] = [];
    for (const id of ids) {
      const hook: StoredWebhook = {
        id,
        owner: 'alice',
        url: 'https://public.example/old',
        prefix: '',
        kinds: [],
        secret: SECRET,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      const key = `users/alice/webhooks/${id}/config.json`;
      await w.store.put(key, Buffer.from(JSON.stringify(hook)));
      keys.push(key);
    }
    return keys;
  };

  it('takes over webhooks stored one per folder before the registry, once, and removes the old copies', async () => {
    await storeOldStyleWebhooks(['one', 'two']);
    await w.store.put('users/alice/webhooks/one/deliveries.json', Buffer.from(JSON.stringify([outcome(1)])));
    const ids = async (e: PodEvent) => (await hooks.matching(e)).map((h) => h.id).sort();
    expect(await ids(await event('file.created', 'x'))).toEqual(['one', 'two']);
    expect((await w.store.list('users/alice/webhooks/')).items.map((i) => i.key)).toEqual([
      'users/alice/webhooks/one/deliveries.json',
    ]);
    expect((await hooks.read('alice', 'two'))?.secret).toBe(SECRET);
    expect((await hooks.get('alice', 'one')).deliveries.map((d) => d.seq)).toEqual([1]);
    await hooks.delete('alice', 'one');
    expect(await ids(await event('file.created', 'x'))).toEqual(['two']);
    expect((await w.store.list('users/alice/webhooks/')).items).toEqual([]);
  });

  it('finishes removing the old copies at the next read when the worker that took them over died first', async () => {
    const oldKeys = await storeOldStyleWebhooks(['one', 'two']);
    // The first worker writes the registry, then dies before it removes a single old copy.
    const dying = new Proxy(w.store, {
      get(target, name) {
        if (name === 'delete') return async () => Promise.reject(new Error('the worker died'));
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const first = new WebhooksService(dying, ssrf, () => now);
    await expect(first.matching(await event('file.created', 'x'))).rejects.toThrow('the worker died');
    const document = async () =>
      JSON.parse((await w.store.get(registryKey('alice')))?.body.toString('utf8') ?? 'null') as {
        hooks: StoredWebhook[];
        legacy?: string[];
      };
    expect((await document()).hooks.map((h) => h.id).sort()).toEqual(['one', 'two']);
    expect((await document()).legacy?.sort()).toEqual(oldKeys);
    // The next event's read, on any worker, removes them and writes the registry without the list.
    const ids = (await hooks.matching(await event('file.created', 'y'))).map((h) => h.id).sort();
    expect(ids).toEqual(['one', 'two']);
    expect((await w.store.list('users/alice/webhooks/')).items).toEqual([]);
    expect(await document()).not.toHaveProperty('legacy');
    // And from then on an event costs one read again.
    const recorded = recordingStore(w.store);
    await new WebhooksService(recorded.store, ssrf, () => now).matching(await event('file.created', 'z'));
    expect(recorded.calls.map((c) => c.op)).toEqual(['get']);
  });

  it(`keeps the limit of ${MAX_WEBHOOKS_PER_OWNER} under concurrent creations, and loses none it acknowledged`, async () => {
    const spec = { url: 'https://public.example/', secret: SECRET };
    const results = await Promise.allSettled(
      Array.from({ length: MAX_WEBHOOKS_PER_OWNER + 10 }, (_, i) => hooks.put('alice', `h${i}`, spec)),
    );
    const made = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`h${i}`] : []));
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ErrorCode.CONFLICT });
    }
    const listed = (await hooks.list('alice')).items.map((h) => h.id);
    expect(listed.sort()).toEqual(made.sort());
    expect(listed.length).toBeLessThanOrEqual(MAX_WEBHOOKS_PER_OWNER);
    for (let i = 0; listed.length < MAX_WEBHOOKS_PER_OWNER; i++) {
      await hooks.put('alice', `more${i}`, spec);
      listed.push(`more${i}`);
    }
    await failsWith(hooks.put('alice', 'one-more', spec), ErrorCode.CONFLICT);
  });

  it('writes nothing into the pod of an account that is gone', async () => {
    const guarded = new WebhooksService(
      w.store,
      ssrf,
      () => now,
      new PodWriteGuard(new IncarnationReader(w.store), 0),
    );
    const ghost = { ...(await event('file.created', 'x')), owner: 'ghost', incarnation: 'gone' };
    expect(await guarded.matching(ghost)).toEqual([]);
    expect(await w.store.get(registryKey('ghost'))).toBeUndefined();
    expect((await w.store.list('users/ghost/')).items).toEqual([]);
  });
});
