/**
 * The idempotent JetStream set-up every worker runs at each (re)connect (protocol/events/jetstream-setup.ts),
 * against a real nats-server: a consumer is created once, left alone when it is as wanted (no update
 * call: 17 consumers per worker connect), and brought to new settings when they change.
 */
import { AckPolicy, connect, type NatsConnection, nanos, RetentionPolicy } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNats } from '../../deploy/local/servers.ts';
import { ensureDurableConsumer, ensureStream, limitsStream } from '../../protocol/events/jetstream-setup.ts';

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.url });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('JetStream set-up', () => {
  it('creates a stream and a consumer once, leaves them as they are, and updates what changed', async () => {
    const jsm = await nc.jetstreamManager();
    const stream = limitsStream('SETUP_TEST', ['setup.test.>'], 60, RetentionPolicy.Limits);
    expect(await ensureStream(jsm, stream)).toBe('created');
    expect(await ensureStream(jsm, stream)).toBe('unchanged');
    const consumer = {
      durable_name: 'setup-test',
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
      max_deliver: 5,
      description: 'a test consumer',
    };
    expect(await ensureDurableConsumer(jsm, 'SETUP_TEST', consumer)).toBe('created');
    expect(await ensureDurableConsumer(jsm, 'SETUP_TEST', consumer)).toBe('unchanged');
    expect(await ensureDurableConsumer(jsm, 'SETUP_TEST', { ...consumer, ack_wait: nanos(45_000) })).toBe(
      'updated',
    );
    const info = await jsm.consumers.info('SETUP_TEST', 'setup-test');
    expect([info.config.ack_wait, info.config.max_deliver]).toEqual([nanos(45_000), 5]);
    expect(await ensureDurableConsumer(jsm, 'SETUP_TEST', { ...consumer, ack_wait: nanos(45_000) })).toBe(
      'unchanged',
    );
  });
});
