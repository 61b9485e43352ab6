/**
 * The broker's reliability rules without sockets: health commands past busy workers, graceful drain,
 * late replies dropped and counted, answers timed by outcome, send failures counted and logged sparingly.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrokerCore } from '../../broker/broker-core.ts';
import { createBrokerMetrics } from '../../broker/metrics.ts';
import { reasonOf, SendFailureLog } from '../../broker/send-failures.ts';
import { pack } from '../../protocol/codec.ts';
import { decodeClientReply, decodeWorkerMessage, type RequestHeader } from '../../protocol/frames.ts';

const client = Buffer.from('client-a');
const w1 = Buffer.from('worker-1');
const w2 = Buffer.from('worker-2');

function request(id: string, overrides: Partial<RequestHeader> = {}): RequestHeader {
  return {
    id,
    service: 'users',
    command: 'users.get',
    deadline: 10_000,
    idempotent: true,
    requestId: id,
    ...overrides,
  };
}

/** The sum of a metric's samples with these labels (`<histogram>_count` for a histogram's count). */
async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const base = name.replace(/_count$/, '');
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name || m.name === base);
  const values = (metric?.values ?? []) as {
    value: number;
    labels: Record<string, unknown>;
    metricName?: string;
  }[];
  return values
    .filter((v) => (v.metricName ?? metric?.name) === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('BrokerCore reliability', () => {
  let sent: { to: 'client' | 'worker'; peer: string; frames: Buffer[] }[];
  let registry: Registry;
  let core: BrokerCore;
  const send = (h: RequestHeader, now = 0) =>
    core.onClientRequest(client, h, pack(h), Buffer.from(`body-${h.id}`), now);
  const toWorker = (peer: Buffer) =>
    sent
      .filter((s) => s.to === 'worker' && s.peer === peer.toString())
      .map((s) => decodeWorkerMessage(s.frames));
  const toClient = () => sent.filter((s) => s.to === 'client').map((s) => decodeClientReply(s.frames));
  const reply = (worker: Buffer, id: string, now = 0) =>
    core.onWorkerReply(worker, 'FINAL', client, id, pack({ id }), Buffer.from(`reply-${id}`), now);

  beforeEach(() => {
    sent = [];
    registry = new Registry();
    core = new BrokerCore(
      { heartbeatMs: 100, liveness: 3, maxQueuePerService: 1, noWorkerGraceMs: 500 },
      {
        toClient: (peer, frames) => sent.push({ to: 'client', peer: peer.toString(), frames }),
        toWorker: (peer, frames) => sent.push({ to: 'worker', peer: peer.toString(), frames }),
      },
      createBrokerMetrics(registry),
    );
  });

  it('sends a health command to a worker even when every worker is at capacity and the queue is full', () => {
    core.onWorkerReady(w1, { services: ['users', 'health'], capacity: 1 }, 0);
    send(request('busy'));
    send(request('queued'));
    send(request('refused'));
    expect(toClient()).toMatchObject([{ header: { id: 'refused', error: 'overloaded' } }]);
    send(request('h', { service: 'health', command: 'health.storage' }));
    expect(toWorker(w1).map((m) => (m.command === 'REQUEST' ? m.header.id : m.command))).toEqual([
      'busy',
      'h',
    ]);
  });

  it('spreads health commands and never sends them to a draining worker', () => {
    core.onWorkerReady(w1, { services: ['health'], capacity: 1 }, 0);
    core.onWorkerReady(w2, { services: ['health'], capacity: 1 }, 0);
    send(request('a', { service: 'health' }), 1);
    send(request('b', { service: 'health' }), 2);
    expect([toWorker(w1).length, toWorker(w2).length]).toEqual([1, 1]);
    core.onWorkerDisconnect(w1);
    send(request('c', { service: 'health' }), 3);
    expect([toWorker(w1).length, toWorker(w2).length]).toEqual([1, 2]);
  });

  it('drains: refuses new requests at once, finishes queued and running ones, then is idle', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 1 }, 0);
    send(request('running'));
    send(request('queued'));
    core.drain();
    expect(core.idle).toBe(false);
    send(request('new'));
    expect(toClient()).toMatchObject([{ header: { id: 'new', error: 'no_worker' } }]);
    reply(w1, 'running');
    expect(toWorker(w1).map((m) => (m.command === 'REQUEST' ? m.header.id : ''))).toEqual([
      'running',
      'queued',
    ]);
    reply(w1, 'queued');
    expect(toClient().map((m) => m.header.id)).toEqual(['new', 'running', 'queued']);
    expect(core.idle).toBe(true);
  });

  it('drops and counts a reply that comes after the timeout, and frees the capacity it held', async () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 1 }, 0);
    send(request('slow', { deadline: 100 }));
    core.onWorkerHeartbeat(w1, 90);
    core.tick(120);
    send(request('next', { deadline: 10_000 }), 130);
    reply(w1, 'slow', 150);
    expect(toClient()).toMatchObject([{ header: { id: 'slow', error: 'timeout' } }]);
    expect(toClient().length).toBe(1);
    expect(toWorker(w1).map((m) => (m.command === 'REQUEST' ? m.header.id : ''))).toEqual(['slow', 'next']);
    expect(await metricValue(registry, 'podstore_broker_late_replies_total')).toBe(1);
    reply(w1, 'never-sent', 160); // a reply for a request the broker never knew
    expect(await metricValue(registry, 'podstore_broker_late_replies_total')).toBe(2);
  });

  it('times every answer by service and outcome, and tracks requests in flight', async () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 1 }, 0);
    send(request('ok'), 0);
    send(request('late', { deadline: 50 }), 0);
    reply(w1, 'ok', 30);
    core.onWorkerHeartbeat(w1, 40);
    core.tick(60); // 'late' was queued behind 'ok', then dispatched; its deadline passes on the worker
    const count = (outcome: string) =>
      metricValue(registry, 'podstore_broker_request_seconds_count', { service: 'users', outcome });
    expect(await count('reply')).toBe(1);
    expect(await count('timeout')).toBe(1);
    expect(await metricValue(registry, 'podstore_broker_requests_in_flight')).toBe(1); // still on w1
  });
});

describe('SendFailureLog', () => {
  it('names the reason from the ZeroMQ error code', () => {
    expect(reasonOf({ code: 'EHOSTUNREACH' })).toBe('peer_gone');
    expect(reasonOf({ code: 'EAGAIN' })).toBe('peer_full');
    expect(reasonOf(new Error('closed'))).toBe('error');
  });

  it('counts every failure and logs at most one line per side and reason per period', async () => {
    const registry = new Registry();
    const metrics = createBrokerMetrics(registry);
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    let now = 0;
    const log = new SendFailureLog(logger, metrics.sendFailures, 1000, () => now);
    const full = Object.assign(new Error('Resource temporarily unavailable'), { code: 'EAGAIN' });
    for (let i = 0; i < 500; i++) log.record('client', Buffer.from('peer'), full);
    log.record('worker', Buffer.from('w'), Object.assign(new Error('gone'), { code: 'EHOSTUNREACH' }));
    now = 1500;
    log.record('client', Buffer.from('peer'), full);
    expect(
      await metricValue(registry, 'podstore_broker_send_failures_total', {
        side: 'client',
        reason: 'peer_full',
      }),
    ).toBe(501);
    expect(lines.length).toBe(3);
    expect(JSON.parse(lines[2] as string)).toMatchObject({ reason: 'peer_full', alsoSince: 499 });
  });
});
