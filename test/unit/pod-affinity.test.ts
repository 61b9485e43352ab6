/**
 * Pod affinity in the broker (broker/pod-affinity.ts, BrokerCore): a pod's commands go to one home
 * worker while it has room, the homes spread over the workers, and a worker that leaves or joins moves
 * only the pods it loses or wins.
 */
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrokerCore, type BrokerSettings } from '../../broker/broker-core.ts';
import { createBrokerMetrics } from '../../broker/metrics.ts';
import { affinityScore, podHash, workerHash } from '../../broker/pod-affinity.ts';
import { pack } from '../../protocol/codec.ts';
import { podOf } from '../../protocol/command-args.ts';
import { decodeWorkerMessage, type RequestHeader } from '../../protocol/frames.ts';

const client = Buffer.from('api-1');
const pods = Array.from({ length: 400 }, (_, i) => `user-${i}`);

/** The home of `pod` among worker ids, computed as the broker does. */
const homeAmong = (pod: string, workers: string[]) =>
  workers.reduce((best, id) =>
    affinityScore(podHash(pod), workerHash(id)) > affinityScore(podHash(pod), workerHash(best)) ? id : best,
  );

describe('rendezvous hashing of pods over workers', () => {
  const workers = ['a1', 'b2', 'c3', 'd4'].map((w) => Buffer.from(`worker-${w}`).toString('hex'));

  it('spreads the pods over the workers about evenly', () => {
    const counts = new Map<string, number>();
    for (const pod of pods)
      counts.set(homeAmong(pod, workers), (counts.get(homeAmong(pod, workers)) ?? 0) + 1);
    expect(counts.size).toBe(4);
    for (const n of counts.values()) expect(n).toBeGreaterThan(60); // 100 expected each
  });

  it('moves only the pods of a worker that leaves, and only pods to a worker that joins', () => {
    const three = workers.slice(0, 3);
    for (const pod of pods) {
      const before = homeAmong(pod, workers);
      const after = homeAmong(pod, three);
      if (before !== workers[3]) expect(after).toBe(before);
      const joined = homeAmong(pod, workers);
      if (joined !== workers[3]) expect(joined).toBe(after);
    }
  });

  it("takes the pod from a command's owner, or from the account it names", () => {
    expect(podOf({ owner: 'patient', path: 'a' })).toBe('patient');
    expect(podOf({ username: 'patient' })).toBe('patient');
    expect(podOf({ hash: 'abc' })).toBeUndefined();
    expect(podOf({ owner: '' })).toBeUndefined();
  });
});

describe('BrokerCore with pod affinity', () => {
  let sent: { peer: string; frames: Buffer[] }[];
  let registry: Registry;
  let core: BrokerCore;
  const ids = ['w-one', 'w-two', 'w-three'].map((w) => Buffer.from(w));
  let next = 0;

  const start = (settings: Partial<BrokerSettings> = {}, capacity = 2) => {
    sent = [];
    registry = new Registry();
    core = new BrokerCore(
      { heartbeatMs: 100, liveness: 3, maxQueuePerService: 100, noWorkerGraceMs: 500, ...settings },
      {
        toClient: () => {},
        toWorker: (peer, frames) => sent.push({ peer: peer.toString(), frames }),
      },
      createBrokerMetrics(registry),
    );
    for (const id of ids) core.onWorkerReady(id, { services: ['files'], capacity }, 0);
  };
  /** Sends a command of `pod`; returns the worker it went to (or undefined: queued). */
  const send = (pod: string | undefined, command = 'files.get') => {
    const header: RequestHeader = {
      id: String(next++),
      service: 'files',
      command,
      deadline: 60_000,
      idempotent: true,
      requestId: 'r',
      ...(pod === undefined ? {} : { pod }),
    };
    const before = sent.length;
    core.onClientRequest(client, header, pack(header), Buffer.alloc(0), 1);
    return sent.length > before ? { to: sent.at(-1)?.peer, id: header.id } : { to: undefined, id: header.id };
  };
  const finish = (worker: string, id: string) =>
    core.onWorkerReply(Buffer.from(worker), 'FINAL', client, id, pack({ id }), Buffer.alloc(0), 2);
  const dispatches = async () => {
    const metric = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'podstore_broker_pod_dispatches_total',
    );
    const of = (to: string) => metric?.values.find((v) => v.labels.to === to)?.value ?? 0;
    return { home: of('home'), elsewhere: of('elsewhere') };
  };

  beforeEach(() => {
    next = 0;
  });

  it("sends every command of a pod to one worker while it has room, and the pods' homes differ", async () => {
    start();
    const homes = new Map<string, Set<string | undefined>>();
    for (let round = 0; round < 5; round++)
      for (const pod of pods.slice(0, 30)) {
        const { to, id } = send(pod);
        homes.set(pod, (homes.get(pod) ?? new Set()).add(to));
        finish(to as string, id); // answered at once: the home always has room
      }
    for (const seen of homes.values()) expect(seen.size).toBe(1);
    expect(new Set([...homes.values()].map((s) => [...s][0])).size).toBe(3);
    expect(await dispatches()).toEqual({ home: 150, elsewhere: 0 });
  });

  it('spreads a busy pod over the workers, its home taking a bounded share, and goes home again when calm', async () => {
    start();
    const first = send('patient');
    // Bounded loads (1.5 × the average, counting the new command, rounded up): with one command in
    // flight on three workers, the home's share is one; the second goes to the least-loaded worker.
    const second = send('patient');
    expect(second.to).toBeDefined();
    expect(second.to).not.toBe(first.to);
    expect(await dispatches()).toEqual({ home: 1, elsewhere: 1 });
    // With a higher bound the home keeps both.
    start({ podAffinityBound: 2 });
    const a = send('patient');
    expect(send('patient').to).toBe(a.to);
    expect(send('patient').to).not.toBe(a.to); // 2 in flight at home: 2 × 3/3 = 2, no more
    // A full home never takes more, whatever the bound.
    start({ podAffinityBound: 100 });
    const full = [send('patient'), send('patient')];
    expect(full[1]?.to).toBe(full[0]?.to);
    expect(send('patient').to).not.toBe(full[0]?.to); // capacity 2
    finish(full[0]?.to as string, full[0]?.id as string);
    finish(full[1]?.to as string, full[1]?.id as string);
    expect(send('patient').to).toBe(full[0]?.to); // calm again: home
  });

  it("bounds a pod's changes and its reads at home each with its own bound (both 1.5 times the average by default)", () => {
    const atHome = (command: string) => {
      const placed = Array.from({ length: 6 }, () => send('patient', command));
      const home = placed[0]?.to;
      expect(placed.every((p) => p.to !== undefined)).toBe(true);
      return placed.filter((p) => p.to === home).length;
    };
    // Three workers, six commands at once: the home takes one while it runs fewer than
    // bound × (in flight + 1) / 3: three of six at 1.5, two at 1.
    start({}, 8);
    expect(atHome('files.put')).toBe(3);
    start({}, 8);
    expect(atHome('files.get')).toBe(3);
    start({ podAffinityBound: 1 }, 8);
    expect(atHome('files.get')).toBe(2);
    start({ podAffinityBound: 1 }, 8);
    expect(atHome('files.put')).toBe(3); // changes keep their own bound
    start({ podChangeBound: 1 }, 8);
    expect(atHome('files.put')).toBe(2);
  });

  it('keeps a hot pod on every worker: of 30 commands at once, the home runs a bounded share', () => {
    start({}, 64); // slots enough for all 30 on any one worker
    const placed = Array.from({ length: 30 }, () => send('hot'));
    const counts = new Map<string | undefined, number>();
    for (const p of placed) counts.set(p.to, (counts.get(p.to) ?? 0) + 1);
    expect(counts.has(undefined)).toBe(false);
    expect(counts.size).toBe(3);
    // 1.5 × the average of the 30: at most 15 at home.
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(15);
  });

  it("moves a lost worker's pods to their second choice, and only those", () => {
    start();
    const homes = new Map(
      pods.slice(0, 60).map((pod) => {
        const { to, id } = send(pod);
        finish(to as string, id);
        return [pod, to] as const;
      }),
    );
    const lost = ids[0]?.toString() as string;
    core.onWorkerDisconnect(Buffer.from(lost));
    for (const [pod, home] of homes) {
      const { to, id } = send(pod);
      if (home !== lost) expect(to).toBe(home);
      else expect(to).not.toBe(lost);
      finish(to as string, id);
    }
  });

  it('spreads commands without a pod, and every command when affinity is off, by load alone', () => {
    start({ podAffinity: false });
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 6; i++) {
      const { to, id } = send('patient');
      seen.add(to);
      finish(to as string, id);
    }
    expect(seen.size).toBe(3);
    start();
    const tokenChecks = new Set<string | undefined>();
    for (let i = 0; i < 6; i++) {
      const { to, id } = send(undefined);
      tokenChecks.add(to);
      finish(to as string, id);
    }
    expect(tokenChecks.size).toBe(3);
  });

  it('hands a queued command to its home when the home frees a slot, or to any free worker', () => {
    start();
    // Six commands fill the three workers' six slots (a full home sends elsewhere); the seventh waits.
    const held = Array.from({ length: 6 }, (_, i) => send(`filler-${i}`));
    expect(held.every((h) => h.to !== undefined)).toBe(true);
    const queued = send('patient');
    expect(queued.to).toBeUndefined();
    const busy = held[0] as { to: string; id: string };
    finish(busy.to, busy.id);
    const delivered = sent.at(-1) as { peer: string; frames: Buffer[] };
    const message = decodeWorkerMessage(delivered.frames);
    expect(message.command === 'REQUEST' && message.header.id).toBe(queued.id);
    expect(delivered.peer).toBe(busy.to); // the only free slot, whether or not it is the home
  });
});
