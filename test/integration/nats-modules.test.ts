/**
 * The NATS building blocks against a real nats-server: idempotent stream set-up, the event publisher's
 * outbox across a server restart (in order, once), and invalidation messages between two connections.
 */
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNats } from '../../deploy/local/servers.ts';
import { decodeEvent, EVENTS_STREAM } from '../../protocol/events/event.ts';
import { type Invalidation, Invalidations } from '../../protocol/events/invalidation.ts';
import { ensureStream, eventStreamConfig } from '../../protocol/events/jetstream-setup.ts';
import { NatsLink } from '../../runtime/nats-link.ts';
import { JetStreamEventPublisher } from '../../worker/events/jetstream-publisher.ts';

const logger = pino({ level: 'silent' });
let nats: NatsServer;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
});

afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  await nats?.stop();
});

async function client(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  connections.push(nc);
  return nc;
}

describe('ensureStream', () => {
  it('creates the event stream once, whoever comes first, and applies a new retention', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const [jsmA, jsmB] = await Promise.all([a.jetstreamManager(), b.jetstreamManager()]);
    const results = await Promise.all([
      ensureStream(jsmA, eventStreamConfig(3600)),
      ensureStream(jsmB, eventStreamConfig(3600)),
    ]);
    expect(results).toContain('created');
    expect(await ensureStream(jsmA, eventStreamConfig(3600))).toBe('unchanged');
    expect(await ensureStream(jsmB, eventStreamConfig(7200))).toBe('updated');
    const info = await jsmA.streams.info(EVENTS_STREAM);
    expect(info.config.max_age).toBe(7200 * 1e9);
    expect(info.config.subjects).toEqual(['podstore.events.>']);
  });
});

describe('JetStreamEventPublisher', () => {
  it('publishes in order, keeps events while NATS is down, and sends each once when it is back', async () => {
    const link = new NatsLink({
      url: nats.url,
      name: 'publisher-test',
      logger,
      onConnect: async (nc) =>
        void (await ensureStream(await nc.jetstreamManager(), eventStreamConfig(3600))),
    });
    link.start();
    await link.ready();
    const publisher = new JetStreamEventPublisher(link, logger, { waitMs: 500 });
    for (const n of [1, 2, 3])
      await publisher.publish({ kind: 'user.patched', owner: 'outbox', etag: `e${n}` });
    expect(publisher.queued).toBe(0);

    await nats.restart(async () => {
      const started = Date.now();
      for (const n of [4, 5, 6])
        await publisher.publish({ kind: 'user.patched', owner: 'outbox', etag: `e${n}` });
      expect(Date.now() - started).toBeLessThan(3000); // a caller never waits long for an absent NATS
      expect(publisher.queued).toBe(3);
    });
    expect(await publisher.flush(20_000)).toBe(0);

    const nc = await client();
    const consumer = await nc
      .jetstream()
      .consumers.get(EVENTS_STREAM, { filterSubjects: ['podstore.events.outbox.>'] });
    const etags: string[] = [];
    const messages = await consumer.fetch({ max_messages: 20, expires: 1000 });
    for await (const message of messages) etags.push(decodeEvent(message.data).etag ?? '');
    expect(etags).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    await link.close();
  }, 60_000);
});

describe('Invalidations', () => {
  it('carries a message from one process to another within a second, and resyncs after a reconnect', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const sender = new Invalidations(a, logger);
    const receiver = new Invalidations(b, logger);
    receiver.start();
    const got: { message: Invalidation; at: number }[] = [];
    receiver.on('token.revoked', (message) => got.push({ message, at: performance.now() }));
    const grants: Invalidation[] = [];
    receiver.on('grant.changed', (message) => grants.push(message));
    await b.flush(); // the subscription is registered on the server

    const sent = performance.now();
    sender.publish('token.revoked', 'alice', 'token-1');
    b.publish('podstore.invalidate.token.revoked', 'not json'); // ignored
    sender.publish('grant.changed', 'alice', 'bob');
    const until = Date.now() + 5000;
    while ((got.length < 1 || grants.length < 1) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    expect(got).toHaveLength(1);
    expect(got[0]?.message).toMatchObject({ kind: 'token.revoked', owner: 'alice', key: 'token-1' });
    expect((got[0]?.at ?? Number.POSITIVE_INFINITY) - sent).toBeLessThan(1000);
    expect(grants).toEqual([expect.objectContaining({ kind: 'grant.changed', owner: 'alice', key: 'bob' })]);

    let resyncs = 0;
    let senderBack = false;
    receiver.onResync(() => resyncs++);
    sender.start();
    sender.onResync(() => {
      senderBack = true;
    });
    await nats.restart();
    const deadline = Date.now() + 15_000;
    while ((resyncs === 0 || !senderBack) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(resyncs).toBe(1);
    expect(senderBack).toBe(true);

    // Subscriptions survive the reconnect (once both ends are back: core NATS keeps nothing meanwhile).
    await Promise.all([a.flush(), b.flush()]);
    sender.publish('token.revoked', 'carol');
    const later = Date.now() + 5000;
    while (got.length < 2 && Date.now() < later) await new Promise((r) => setTimeout(r, 10));
    expect(got[1]?.message).toMatchObject({ kind: 'token.revoked', owner: 'carol' });
    receiver.stop();
    sender.stop();
  }, 60_000);
});
