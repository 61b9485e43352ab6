/**
 * Placements (broker/pod-placements.ts, BrokerCore, protocol/placement.ts): what the broker tells a
 * pod's home so that the home may answer reads from memory. A command is exclusive only on the home,
 * with nothing that may change files running elsewhere, and not while a lost worker may still write;
 * the epoch changes whenever something elsewhere may have changed the pod's files, or the home changed.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../broker/broker-core.ts';
import { createBrokerMetrics } from '../../broker/metrics.ts';
import { podHash } from '../../broker/pod-affinity.ts';
import { PodPlacements } from '../../broker/pod-placements.ts';
import { pack } from '../../protocol/codec.ts';
import { decodeWorkerMessage, type RequestHeader, relayToWorker } from '../../protocol/frames.ts';
import { decodePlacement, encodePlacement } from '../../protocol/placement.ts';

const QUIET = 1000;
/** Placements past the broker's first quiet window. */
function placements() {
  const p = new PodPlacements({ quietMs: QUIET, run: 7 });
  p.dispatch('warm-up', 'h', 'h', false, 0);
  return p;
}
const T = QUIET + 1;

describe('PodPlacements', () => {
  it('lets the home use its memory, under one epoch, while the pod stays on it', () => {
    const p = placements();
    const first = p.dispatch('ann', 'h', 'h', false, T);
    const write = p.dispatch('ann', 'h', 'h', true, T);
    const read = p.dispatch('ann', 'h', 'h', false, T);
    expect([first.exclusive, write.exclusive, read.exclusive]).toEqual([true, true, true]);
    expect(new Set([first.epoch, write.epoch, read.epoch]).size).toBe(1);
    expect(first.run).toBe(7);
  });

  it('is never exclusive on a worker that is not the home', () => {
    const p = placements();
    expect(p.dispatch('ann', 'other', 'h', false, T).exclusive).toBe(false);
    expect(p.dispatch('ann', 'other', 'h', true, T).exclusive).toBe(false);
  });

  it('bumps the epoch for a change elsewhere and denies the home its memory until that change is answered', () => {
    const p = placements();
    const before = p.dispatch('ann', 'h', 'h', false, T);
    const away = p.dispatch('ann', 'other', 'h', true, T);
    expect(away.epoch).toBeGreaterThan(before.epoch);
    const during = p.dispatch('ann', 'h', 'h', false, T);
    expect(during.exclusive).toBe(false);
    expect(during.epoch).toBe(away.epoch);
    p.answered('ann', 'other');
    const after = p.dispatch('ann', 'h', 'h', false, T);
    expect(after.exclusive).toBe(true);
    expect(after.epoch).toBe(away.epoch); // not before.epoch: what the home had is dead
  });

  it('lets reads go elsewhere without costing the home its memory', () => {
    const p = placements();
    const before = p.dispatch('ann', 'h', 'h', false, T);
    p.dispatch('ann', 'other', 'h', false, T);
    const after = p.dispatch('ann', 'h', 'h', false, T);
    expect(after).toEqual(before);
  });

  it('keeps a new home from its memory while the old home still runs a change (a draining or moved home)', () => {
    const p = placements();
    p.dispatch('ann', 'old', 'old', false, T);
    const write = p.dispatch('ann', 'old', 'old', true, T);
    const moved = p.dispatch('ann', 'new', 'new', false, T);
    expect(moved.epoch).toBeGreaterThan(write.epoch);
    expect(moved.exclusive).toBe(false);
    p.answered('ann', 'old');
    expect(p.dispatch('ann', 'new', 'new', false, T)).toEqual({ ...moved, exclusive: true });
    // The old home back as home: a new epoch again (what it remembered from before is dead).
    expect(p.dispatch('ann', 'old', 'old', false, T).epoch).toBeGreaterThan(moved.epoch);
  });

  it('counts changes per worker: a change answered by one worker does not clear another', () => {
    const p = placements();
    p.dispatch('ann', 'x', 'h', true, T);
    p.dispatch('ann', 'y', 'h', true, T);
    p.answered('ann', 'x');
    p.answered('ann', 'x'); // answered twice (a late reply after a loss): ignored
    expect(p.dispatch('ann', 'h', 'h', false, T).exclusive).toBe(false);
    p.answered('ann', 'y');
    expect(p.dispatch('ann', 'h', 'h', false, T).exclusive).toBe(true);
  });

  it('is quiet after the first dispatch and after a worker is lost, and a loss bumps every epoch', () => {
    const p = new PodPlacements({ quietMs: QUIET, run: 1 });
    expect(p.dispatch('ann', 'h', 'h', false, 0).exclusive).toBe(false);
    expect(p.dispatch('ann', 'h', 'h', false, QUIET - 1).exclusive).toBe(false);
    const settled = p.dispatch('ann', 'h', 'h', false, QUIET);
    expect(settled.exclusive).toBe(true);
    p.workerLost(5000);
    const lost = p.dispatch('ann', 'h', 'h', false, 5000 + QUIET - 1);
    expect(lost.exclusive).toBe(false);
    expect(lost.epoch).toBeGreaterThan(settled.epoch);
    expect(p.dispatch('ann', 'h', 'h', false, 5000 + QUIET).exclusive).toBe(true);
  });

  it('forgets the least recently used pods beyond its bound, and a forgotten pod comes back with a new epoch', () => {
    const p = new PodPlacements({ quietMs: 0, run: 1, maxPods: 3 });
    const first = p.dispatch('a', 'h', 'h', false, 1);
    p.dispatch('busy', 'x', 'h', true, 1); // a change in flight: never forgotten
    for (const pod of ['b', 'c', 'd', 'e']) p.dispatch(pod, 'h', 'h', false, 1);
    expect(p.size).toBeLessThanOrEqual(4);
    expect(p.dispatch('busy', 'h', 'h', false, 1).exclusive).toBe(false); // still counted
    const again = p.dispatch('a', 'h', 'h', false, 1);
    expect(again.epoch).toBeGreaterThan(first.epoch);
  });
});

describe('the placement frame', () => {
  it('carries run, epoch and exclusive, and a REQUEST with a malformed one is refused', () => {
    const placement = { run: 0xfedcba98, epoch: 2 ** 47 + 5, exclusive: true };
    expect(decodePlacement(encodePlacement(placement))).toEqual(placement);
    const header = pack({ id: '1', service: 'files', command: 'files.get', deadline: 1, idempotent: true });
    const frames = relayToWorker(Buffer.from('c'), header, Buffer.alloc(0), encodePlacement(placement));
    const message = decodeWorkerMessage(frames);
    expect(message.command === 'REQUEST' && message.placement).toEqual(placement);
    const plain = decodeWorkerMessage(relayToWorker(Buffer.from('c'), header, Buffer.alloc(0)));
    expect(plain.command === 'REQUEST' && plain.placement).toBeUndefined();
    expect(() => decodeWorkerMessage([...frames.slice(0, 5), Buffer.alloc(3)])).toThrow(/placement/);
  });
});

describe('BrokerCore placements', () => {
  const ids = ['w-one', 'w-two'].map((w) => Buffer.from(w));
  const setup = () => {
    const sent: { peer: string; frames: Buffer[] }[] = [];
    const core = new BrokerCore(
      { heartbeatMs: 100, liveness: 3, maxQueuePerService: 100, noWorkerGraceMs: 500, placementQuietMs: 0 },
      { toClient: () => {}, toWorker: (peer, frames) => sent.push({ peer: peer.toString('hex'), frames }) },
      createBrokerMetrics(new Registry()),
    );
    for (const id of ids) core.onWorkerReady(id, { services: ['files'], capacity: 1 }, 0);
    const home = core.workers.homeOf('files', podHash('ann'))?.id as string;
    let next = 0;
    const send = (command: string, pod: string | null = 'ann') => {
      const header: RequestHeader = {
        id: String(next++),
        service: 'files',
        command,
        deadline: 60_000,
        idempotent: false,
        requestId: 'r',
        ...(pod === null ? {} : { pod }),
      };
      core.onClientRequest(Buffer.from('api'), header, pack(header), Buffer.alloc(0), 10);
      const last = sent.at(-1);
      const message = last === undefined ? undefined : decodeWorkerMessage(last.frames);
      return {
        worker: last?.peer,
        id: header.id,
        placement: message?.command === 'REQUEST' ? message.placement : undefined,
      };
    };
    const reply = (worker: string, id: string) =>
      core.onWorkerReply(
        Buffer.from(worker, 'hex'),
        'FINAL',
        Buffer.from('api'),
        id,
        pack({ id }),
        Buffer.alloc(0),
        20,
      );
    return { core, home, send, reply };
  };

  it('sends a placement with every command of a pod, none with a command of no pod', () => {
    const { send, home } = setup();
    const read = send('files.get');
    expect(read.worker).toBe(home);
    expect(read.placement?.exclusive).toBe(true);
    expect(send('bench.echo', null).placement).toBeUndefined();
  });

  it('denies the home its memory while a change runs on the other worker, until that worker answers', () => {
    const { send, reply, home } = setup();
    const first = send('files.put'); // takes the home's only slot
    expect(first.worker).toBe(home);
    const away = send('files.put'); // spills to the other worker
    expect(away.worker).not.toBe(home);
    reply(home, first.id);
    const during = send('files.get');
    expect(during.worker).toBe(home);
    expect(during.placement?.exclusive).toBe(false);
    expect(during.placement?.epoch).toBeGreaterThan(first.placement?.epoch ?? Infinity);
    reply(home, during.id);
    reply(away.worker as string, away.id);
    const after = send('files.get');
    expect(after.placement).toEqual({ ...during.placement, exclusive: true });
  });

  it('a worker lost with commands in flight makes every placement non-exclusive for the quiet time', () => {
    const sent: Buffer[][] = [];
    const core = new BrokerCore(
      {
        heartbeatMs: 100,
        liveness: 3,
        maxQueuePerService: 100,
        noWorkerGraceMs: 500,
        placementQuietMs: 5000,
      },
      { toClient: () => {}, toWorker: (_peer, frames) => sent.push(frames) },
      createBrokerMetrics(new Registry()),
    );
    for (const id of ids) core.onWorkerReady(id, { services: ['files'], capacity: 4 }, 0);
    const header = (id: string): RequestHeader => ({
      id,
      service: 'files',
      command: 'files.get',
      deadline: 1e9,
      idempotent: false,
      requestId: id,
      pod: 'ann',
    });
    const placementOf = (frames: Buffer[] | undefined) => {
      const message = frames === undefined ? undefined : decodeWorkerMessage(frames);
      return message?.command === 'REQUEST' ? message.placement : undefined;
    };
    core.onClientRequest(Buffer.from('api'), header('w'), pack(header('w')), Buffer.alloc(0), 0); // quiet from here
    const home = core.workers.homeOf('files', podHash('ann'));
    core.onWorkerReply(
      home?.identity as Buffer,
      'FINAL',
      Buffer.from('api'),
      'w',
      pack({ id: 'w' }),
      Buffer.alloc(0),
      1,
    );
    core.onClientRequest(Buffer.from('api'), header('a'), pack(header('a')), Buffer.alloc(0), 6000);
    expect(placementOf(sent.at(-1))?.exclusive).toBe(true);
    core.onWorkerUnreachable(home?.identity as Buffer, [], 7000);
    core.onClientRequest(Buffer.from('api'), header('b'), pack(header('b')), Buffer.alloc(0), 7000);
    expect(placementOf(sent.at(-1))?.exclusive).toBe(false);
  });
});
