import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrokerCore } from '../../broker/broker-core.ts';
import { createBrokerMetrics } from '../../broker/metrics.ts';
import { pack } from '../../protocol/codec.ts';
import { decodeClientMessage, decodeWorkerMessage, type RequestHeader } from '../../protocol/frames.ts';

interface Sent {
  to: 'client' | 'worker';
  peer: string;
  frames: Buffer[];
}

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

describe('BrokerCore', () => {
  let sent: Sent[];
  let core: BrokerCore;
  const send = (h: RequestHeader, now = 0) =>
    core.onClientRequest(client, h, pack(h), Buffer.from(`body-${h.id}`), now);
  const toWorker = (peer: Buffer) =>
    sent
      .filter((s) => s.to === 'worker' && s.peer === peer.toString())
      .map((s) => decodeWorkerMessage(s.frames));
  const toClient = () => sent.filter((s) => s.to === 'client').map((s) => decodeClientMessage(s.frames));
  const keyOf = (id: string) => `${client.toString('hex')}/${id}`;
  const reply = (worker: Buffer, id: string, now = 0) =>
    core.onWorkerReply(worker, 'FINAL', client, id, pack({ id }), Buffer.from(`reply-${id}`), now);

  let registry: Registry;
  beforeEach(() => {
    sent = [];
    registry = new Registry();
    core = new BrokerCore(
      { heartbeatMs: 100, liveness: 3, maxQueuePerService: 2, noWorkerGraceMs: 500 },
      {
        toClient: (peer, frames) => sent.push({ to: 'client', peer: peer.toString(), frames }),
        toWorker: (peer, frames) => sent.push({ to: 'worker', peer: peer.toString(), frames }),
      },
      createBrokerMetrics(registry),
    );
  });

  it('labels metrics only with services a worker offered: made-up names count as `other`', async () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 2 }, 0);
    send(request('known'));
    for (let i = 0; i < 200; i++) send(request(`x${i}`, { service: `made-up-${i}` }));
    const services = new Set<string>();
    for (const metric of await registry.getMetricsAsJSON()) {
      for (const value of metric.values) {
        const service = value.labels.service;
        if (typeof service === 'string') services.add(service);
      }
    }
    expect([...services].sort()).toEqual(['other', 'users']);
  });

  it('dispatches to a worker and relays its reply bytes unchanged', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 2 }, 0);
    send(request('1'));
    const [forwarded] = toWorker(w1);
    expect(forwarded).toMatchObject({ command: 'REQUEST', client, body: Buffer.from('body-1') });
    reply(w1, '1');
    expect(toClient()).toEqual([{ command: 'FINAL', header: { id: '1' }, body: Buffer.from('reply-1') }]);
    expect(core.pendingCount).toBe(0);
  });

  it('spreads light traffic round-robin and prefers the least-loaded worker', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 0);
    core.onWorkerReady(w2, { services: ['users'], capacity: 4 }, 0);
    for (let i = 0; i < 6; i++) {
      send(request(`r${i}`), i + 1);
      reply(toWorker(w1).length > toWorker(w2).length ? w1 : w2, `r${i}`, i + 1);
    }
    // every request was answered at once, so the load was always equal: alternate workers
    expect(toWorker(w1).length).toBe(3);
    expect(toWorker(w2).length).toBe(3);
    sent = [];
    send(request('x'), 10);
    send(request('y'), 11);
    expect(toWorker(w1).length + toWorker(w2).length).toBe(2);
    expect(toWorker(w1).length).toBe(1);
  });

  it('queues when every worker is full, answers overloaded when the queue is full, drains on reply', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 1 }, 0);
    send(request('1'));
    send(request('2'));
    send(request('3'));
    send(request('4'));
    expect(toWorker(w1).length).toBe(1);
    expect(toClient()).toEqual([
      { command: 'FINAL', header: { id: '4', error: 'overloaded' }, body: Buffer.alloc(0) },
    ]);
    reply(w1, '1');
    const requests = toWorker(w1).filter((m) => m.command === 'REQUEST');
    expect(requests.map((m) => (m.command === 'REQUEST' ? m.header.id : ''))).toEqual(['1', '2']);
  });

  it('answers timeout for a request still queued at its deadline', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 1 }, 0);
    send(request('1', { deadline: 10_000 }));
    send(request('2', { deadline: 200 }));
    core.onWorkerHeartbeat(w1, 150);
    core.tick(250);
    expect(toClient()).toEqual([
      { command: 'FINAL', header: { id: '2', error: 'timeout' }, body: Buffer.alloc(0) },
    ]);
  });

  it('answers no_worker when nobody serves the service after the grace period', () => {
    send(request('1', { service: 'nobody' }));
    core.tick(400);
    expect(toClient()).toEqual([]);
    core.tick(600);
    expect(toClient()[0]).toMatchObject({ header: { id: '1', error: 'no_worker' } });
  });

  it('re-dispatches an idempotent request of a silent worker once, and fails a non-idempotent one', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 0);
    send(request('idem'));
    send(request('post', { idempotent: false }));
    core.onWorkerReady(w2, { services: ['users'], capacity: 4 }, 250);
    core.tick(301); // w1 last heard at 0, liveness 300 ms
    expect(toClient()).toEqual([
      { command: 'FINAL', header: { id: 'post', error: 'worker_lost' }, body: Buffer.alloc(0) },
    ]);
    expect(toWorker(w2).map((m) => (m.command === 'REQUEST' ? m.header.id : m.command))).toEqual(['idem']);
    // The first dispatch is plain; the second tells the worker the command may have run already.
    expect(toWorker(w1).map((m) => (m.command === 'REQUEST' ? m.header.redelivered : m.command))).toEqual([
      undefined,
      undefined,
    ]);
    expect(toWorker(w2).map((m) => (m.command === 'REQUEST' ? m.header.redelivered : m.command))).toEqual([
      true,
    ]);
    reply(w2, 'idem', 302);
    expect(toClient()[1]).toMatchObject({ header: { id: 'idem' }, body: Buffer.from('reply-idem') });
  });

  it('loses a worker whose connection is gone at once, re-dispatching the command it never received', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 0);
    core.onWorkerReady(w2, { services: ['users'], capacity: 4 }, 0);
    send(request('ran', { idempotent: false })); // to w1 (round-robin starts with the first)
    send(request('elsewhere', { idempotent: false })); // to w2
    send(request('never', { idempotent: false })); // to w1 again: this send fails, w1 is gone
    expect(toWorker(w1).map((m) => (m.command === 'REQUEST' ? m.header.id : m.command))).toEqual([
      'ran',
      'never',
    ]);
    core.onWorkerUnreachable(w1, [keyOf('never')], 5);
    // 'ran' may have run on w1: it is not repeated. 'never' did not: it goes to w2.
    expect(toClient()).toEqual([
      { command: 'FINAL', header: { id: 'ran', error: 'worker_lost' }, body: Buffer.alloc(0) },
    ]);
    expect(toWorker(w2).map((m) => (m.command === 'REQUEST' ? m.header.id : m.command))).toEqual([
      'elsewhere',
      'never',
    ]);
    // It never reached w1, so w2 is not told it may have run.
    expect(toWorker(w2).every((m) => m.command !== 'REQUEST' || m.header.redelivered === undefined)).toBe(
      true,
    );
    expect([...core.workers.all()].map((w) => w.identity.toString())).toEqual(['worker-2']);
    // A second failure report for the same worker changes nothing.
    core.onWorkerUnreachable(w1, [], 6);
    expect(toClient()).toHaveLength(1);
  });

  it('re-dispatches every command a failed batch carried, not only the first', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 0);
    send(request('one', { idempotent: false }));
    send(request('two', { idempotent: false }));
    // Both went to w1 in one batch, whose send failed: w1 is gone, neither command reached it.
    core.onWorkerUnreachable(w1, [keyOf('one'), keyOf('two')], 1);
    core.onWorkerReady(w2, { services: ['users'], capacity: 4 }, 2);
    expect(toClient()).toEqual([]);
    expect(toWorker(w2).map((m) => (m.command === 'REQUEST' ? m.header.id : m.command))).toEqual([
      'one',
      'two',
    ]);
    // They never ran: not marked as possibly run.
    expect(toWorker(w2).map((m) => (m.command === 'REQUEST' ? m.header.redelivered : m.command))).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('keeps its own copy of a waiting request that came as a view of a larger buffer (a batch)', () => {
    const batch = Buffer.from('....header....body....');
    const h = request('queued');
    const headerView = batch.subarray(4, 14);
    const bodyView = batch.subarray(14, 18);
    core.onClientRequest(client, h, headerView, bodyView, 0); // no worker yet: it waits
    batch.fill(0); // the batch's memory is reused or freed
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 1);
    const [dispatched] = sent.filter((s) => s.to === 'worker');
    expect(dispatched?.frames.slice(-2).map((f) => f.toString())).toEqual(['header....', 'body']);
  });

  it("does not count an undelivered dispatch against an idempotent command's one retry", () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 0);
    send(request('get'));
    core.onWorkerUnreachable(w1, [keyOf('get')], 1); // never delivered; no worker now: it waits in the queue
    core.onWorkerReady(w2, { services: ['users'], capacity: 4 }, 2);
    core.tick(3);
    core.onWorkerReady(Buffer.from('worker-3'), { services: ['users'], capacity: 4 }, 3);
    core.onWorkerHeartbeat(Buffer.from('worker-3'), 340);
    core.tick(350); // w2 went silent after receiving it: its one real retry goes to worker-3
    expect(toClient()).toEqual([]);
    expect(sent.filter((s) => s.to === 'worker' && s.peer === 'worker-3')).toHaveLength(1);
  });

  it('tells an unknown worker to disconnect (so it registers again)', () => {
    core.onWorkerHeartbeat(w1, 0);
    expect(toWorker(w1)).toEqual([{ command: 'DISCONNECT' }]);
  });

  it('sends nothing new to a draining worker but relays what it finishes', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 4 }, 0);
    send(request('1'));
    core.onWorkerDisconnect(w1);
    send(request('2'));
    expect(toWorker(w1).length).toBe(1);
    reply(w1, '1');
    expect(toClient()[0]).toMatchObject({ header: { id: '1' } });
    expect(core.workers.size).toBe(0);
  });

  it('keeps a timed-out command on its worker until the worker answers, and drops the late reply', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 1 }, 0);
    send(request('slow', { deadline: 100 }));
    core.onWorkerHeartbeat(w1, 90);
    core.tick(120);
    expect(toClient()).toEqual([
      { command: 'FINAL', header: { id: 'slow', error: 'timeout' }, body: Buffer.alloc(0) },
    ]);
    send(request('next'), 130);
    expect(toWorker(w1).length).toBe(1); // capacity still taken by the slow command
    reply(w1, 'slow', 140);
    expect(toClient().length).toBe(1); // the late reply is not relayed
    expect(toWorker(w1).length).toBe(2); // and the queued one goes out
  });

  it('answers broker.status itself', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 3 }, 0);
    core.onClientRequest(client, request('s', { service: 'broker.status' }), pack({}), Buffer.alloc(0), 0);
    const [status] = toClient();
    expect(status?.command).toBe('FINAL');
  });

  it('refuses a duplicate id in flight with malformed', () => {
    core.onWorkerReady(w1, { services: ['users'], capacity: 3 }, 0);
    send(request('dup'));
    send(request('dup'));
    expect(toClient()[0]).toMatchObject({ header: { id: 'dup', error: 'malformed' } });
  });
});
