/**
 * The broker's fairness: transfers never take command slots, token checks never wait behind commands
 * or transfers, and queued work is served in turns between callers, each with a bounded backlog.
 */
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrokerCore } from '../../broker/broker-core.ts';
import { createBrokerMetrics } from '../../broker/metrics.ts';
import { pack } from '../../protocol/codec.ts';
import { decodeClientMessage, decodeWorkerMessage, type RequestHeader } from '../../protocol/frames.ts';

const api = Buffer.from('api-1');
const w1 = Buffer.from('worker-1');

let nextId = 0;
function header(caller: string, overrides: Partial<RequestHeader> = {}): RequestHeader {
  const id = `r${nextId++}`;
  return {
    id,
    service: 'files',
    command: 'files.list',
    deadline: 60_000,
    idempotent: true,
    requestId: id,
    caller,
    ...overrides,
  };
}
const upload = (caller: string) => header(caller, { command: 'files.put', idempotent: false, stream: true });
const tokenCheck = (caller: string) => header(caller, { service: 'files', command: 'auth.resolve' });

describe('BrokerCore fairness', () => {
  let sent: { to: string; frames: Buffer[] }[];
  let core: BrokerCore;
  const send = (h: RequestHeader) => core.onClientRequest(api, h, pack(h), Buffer.alloc(0), 0);
  const dispatched = () =>
    sent
      .filter((s) => s.to === 'worker')
      .map((s) => decodeWorkerMessage(s.frames))
      .flatMap((m) => (m.command === 'REQUEST' ? [m.header] : []));
  const errors = () =>
    sent
      .filter((s) => s.to === 'client')
      .map((s) => decodeClientMessage(s.frames).header as { id: string; error?: string });
  const finish = (h: RequestHeader) =>
    core.onWorkerReply(w1, 'FINAL', api, h.id, pack({ id: h.id }), Buffer.alloc(0), 0);

  beforeEach(() => {
    sent = [];
    core = new BrokerCore(
      {
        heartbeatMs: 1000,
        liveness: 3,
        maxQueuePerService: 100,
        maxQueuePerCaller: 3,
        noWorkerGraceMs: 500,
        priorityReserve: 1,
      },
      {
        toClient: (_peer, frames) => sent.push({ to: 'client', frames }),
        toWorker: (_peer, frames) => sent.push({ to: 'worker', frames }),
      },
      createBrokerMetrics(new Registry()),
    );
  });

  it('runs transfers on transfer slots: stalled uploads never take the slots commands need', () => {
    core.onWorkerReady(w1, { services: ['files'], capacity: 2, transfers: 2 }, 0);
    const stalled = [upload('mallory'), upload('mallory'), upload('mallory')];
    for (const h of stalled) send(h);
    expect(dispatched().map((h) => h.id)).toEqual([stalled[0]?.id, stalled[1]?.id]);
    const list = header('alice');
    send(list);
    expect(dispatched().map((h) => h.id)).toContain(list.id);
    expect(errors()).toEqual([]);
  });

  it('lets transfers take command slots only for a worker that has no transfer slots (older version)', () => {
    core.onWorkerReady(w1, { services: ['files'], capacity: 2 }, 0);
    send(upload('mallory'));
    send(upload('mallory'));
    const list = header('alice');
    send(list);
    expect(dispatched().map((h) => h.id)).not.toContain(list.id);
  });

  it('dispatches a token check on a reserved slot while every command slot is busy, ahead of the queue', () => {
    core.onWorkerReady(w1, { services: ['files'], capacity: 2, transfers: 1 }, 0);
    const busy = [header('mallory'), header('mallory')];
    for (const h of busy) send(h);
    const waiting = header('mallory');
    send(waiting);
    const check = tokenCheck('ip:203.0.113.9');
    send(check);
    expect(dispatched().map((h) => h.id)).toEqual([busy[0]?.id, busy[1]?.id, check.id]);
    // the reserve is for token checks only: the queued command still waits for a command slot
    finish(check);
    expect(dispatched().map((h) => h.id)).not.toContain(waiting.id);
    finish(busy[0] as RequestHeader);
    expect(dispatched().map((h) => h.id)).toContain(waiting.id);
  });

  it('serves queued token checks before queued commands when a slot frees', () => {
    core.onWorkerReady(w1, { services: ['files'], capacity: 1, transfers: 1 }, 0);
    const running = header('a');
    send(running);
    const reserved = tokenCheck('ip:1');
    send(reserved); // takes the reserve
    const command = header('b');
    send(command);
    const check = tokenCheck('ip:2');
    send(check); // queued: the reserve is taken
    finish(running);
    const order = dispatched().map((h) => h.id);
    expect(order.indexOf(check.id)).toBeGreaterThan(-1);
    expect(order).not.toContain(command.id);
  });

  it("takes turns between callers: a hostile caller's backlog delays a victim by one request", () => {
    core = new BrokerCore(
      {
        heartbeatMs: 1000,
        liveness: 3,
        maxQueuePerService: 1000,
        maxQueuePerCaller: 100,
        noWorkerGraceMs: 500,
      },
      {
        toClient: (_peer, frames) => sent.push({ to: 'client', frames }),
        toWorker: (_peer, frames) => sent.push({ to: 'worker', frames }),
      },
      createBrokerMetrics(new Registry()),
    );
    core.onWorkerReady(w1, { services: ['files'], capacity: 1, transfers: 1 }, 0);
    const first = header('mallory');
    send(first);
    const flood = Array.from({ length: 50 }, () => header('mallory'));
    for (const h of flood) send(h);
    const victim = header('alice');
    send(victim);
    finish(first);
    finish(flood[0] as RequestHeader);
    const order = dispatched().map((h) => h.id);
    // after the one that ran, the next turn is the victim's, not the 49 others of the flood
    expect(order).toEqual([first.id, flood[0]?.id, victim.id]);
  });

  it("bounds each caller's backlog: past it that caller is throttled, others still queue", () => {
    core.onWorkerReady(w1, { services: ['files'], capacity: 1, transfers: 1 }, 0);
    send(header('mallory'));
    const queued = [header('mallory'), header('mallory'), header('mallory')];
    for (const h of queued) send(h);
    const over = header('mallory');
    send(over);
    expect(errors()).toEqual([{ id: over.id, error: 'throttled' }]);
    const victim = header('alice');
    send(victim);
    expect(errors()).toHaveLength(1);
  });

  it('takes a request without a caller as its client connection', () => {
    core.onWorkerReady(w1, { services: ['files'], capacity: 1, transfers: 1 }, 0);
    const { caller: _, ...anonymous } = header('x');
    for (let i = 0; i < 5; i++) send({ ...anonymous, id: `anon-${i}`, requestId: `anon-${i}` });
    expect(errors().map((e) => e.error)).toEqual(['throttled']);
  });
});

describe('BrokerCore: a transfer holds its slot only while parts move', () => {
  const w = Buffer.from('worker-1');
  const client = Buffer.from('api-1');
  let sent: { to: string; frames: Buffer[] }[];
  let core: BrokerCore;
  const make = (transferIdleMs: number, maxTransfersPerWorker: number) => {
    sent = [];
    core = new BrokerCore(
      {
        heartbeatMs: 1000,
        liveness: 100,
        maxQueuePerService: 100,
        noWorkerGraceMs: 500,
        transferIdleMs,
        maxTransfersPerWorker,
      },
      {
        toClient: (_peer, frames) => sent.push({ to: 'client', frames }),
        toWorker: (_peer, frames) => sent.push({ to: 'worker', frames }),
      },
      createBrokerMetrics(new Registry()),
    );
    core.onWorkerReady(w, { services: ['files'], capacity: 4, transfers: 2 }, 0);
  };
  const send = (h: RequestHeader, now: number) =>
    core.onClientRequest(client, h, pack(h), Buffer.alloc(0), now);
  const dispatchedIds = () =>
    sent
      .filter((s) => s.to === 'worker')
      .map((s) => decodeWorkerMessage(s.frames))
      .flatMap((m) => (m.command === 'REQUEST' ? [m.header.id] : []));
  const dataPart = (h: RequestHeader, now: number) =>
    core.onClientPart(
      client,
      'PARTIAL',
      h.id,
      'data',
      pack({ id: h.id, part: 'data' }),
      Buffer.alloc(8),
      now,
    );

  it('gives the slot of a stalled transfer to a waiting one, and takes it back when the stalled one moves', () => {
    make(2000, 8);
    const stalled = [upload('mallory'), upload('mallory')];
    for (const h of stalled) send(h, 0);
    const victim = upload('alice');
    send(victim, 100);
    expect(dispatchedIds()).toEqual(stalled.map((h) => h.id)); // both transfer slots held
    core.tick(1000);
    dataPart(stalled[0] as RequestHeader, 1500); // this one moves: it keeps its slot
    core.tick(2100);
    expect(dispatchedIds()).toContain(victim.id); // the other one stalled for 2 s: its slot went to alice
    const worker = core.workers.get(w.toString('hex'));
    expect(worker?.parked.size).toBe(1);
    expect(worker?.transfers.size).toBe(2);
    dataPart(stalled[1] as RequestHeader, 2200); // the parked one moves again: it holds a slot again
    expect(worker?.parked.size).toBe(0);
    expect(worker?.transfers.size).toBe(3);
    const next = upload('bob');
    send(next, 2300);
    expect(dispatchedIds()).not.toContain(next.id); // over the slots now: nothing new until one frees
  });

  it('bounds what one worker holds, moving or parked', () => {
    make(1000, 3);
    const stalled = [upload('a'), upload('b'), upload('c'), upload('d')];
    for (const h of stalled) send(h, 0);
    core.tick(1500); // two parked: room for one more only (3 in all)
    core.tick(3000);
    expect(dispatchedIds()).toEqual(stalled.slice(0, 3).map((h) => h.id));
  });

  it('never parks with BROKER_TRANSFER_IDLE_MS 0', () => {
    make(0, 8);
    const stalled = [upload('a'), upload('b'), upload('c')];
    for (const h of stalled) send(h, 0);
    core.tick(60_000 - 1);
    expect(dispatchedIds()).toHaveLength(2);
  });
});
