/**
 * Read leases (broker/read-leases.ts, BrokerCore, decision 0009): an api may keep a pod owner's read
 * only when no change of the pod ran while the read did, and a change is acknowledged only after every
 * other api that holds a lease of the pod dropped it (or its lease ran out).
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../broker/broker-core.ts';
import { createBrokerMetrics } from '../../broker/metrics.ts';
import { holdIsOver, ReadLeases } from '../../broker/read-leases.ts';
import { pack } from '../../protocol/codec.ts';
import {
  type ClientMessage,
  decodeClientMessage,
  decodeWorkerMessage,
  encodeInvalidate,
  type RequestHeader,
} from '../../protocol/frames.ts';
import { encodeOutcome } from '../../protocol/outcome.ts';

const LEASE = 1000;
const QUIET = 5000;
const api = (name: string) => ({ id: Buffer.from(name), hex: Buffer.from(name).toString('hex') });
const A = api('api-a');
const B = api('api-b');

/** Leases past the first lease window of the broker's start. */
function leases() {
  const l = new ReadLeases({ leaseMs: LEASE, quietMs: QUIET });
  l.readStarts('warm-up', 0);
  return l;
}
const T = LEASE + 1;

describe('ReadLeases', () => {
  it('grants a read that ran with no change of its pod, and refuses one that a change overlapped', () => {
    const l = leases();
    const seen = l.readStarts('ann', T);
    expect(seen).toBeDefined();
    expect(l.grant('ann', seen, A.id, A.hex, T)).toBe(true);

    const racing = l.readStarts('ann', T);
    const change = l.changeStarts('ann', B.hex, T);
    expect(l.grant('ann', racing, A.id, A.hex, T)).toBe(false); // the change was dispatched meanwhile
    expect(l.readStarts('ann', T)).toBeUndefined(); // a change is running: no lease for reads now
    l.changeEnds('ann');
    const after = l.readStarts('ann', T);
    expect(l.grant('ann', after, A.id, A.hex, T)).toBe(true);
    expect(change.notices.map((n) => n.identity.toString())).toEqual(['api-a']);
  });

  it("tells every live holder of a change, and its answer waits for the others' acknowledgements, not the sender's", () => {
    const l = leases();
    l.grant('ann', l.readStarts('ann', T), A.id, A.hex, T);
    l.grant('ann', l.readStarts('ann', T), B.id, B.hex, T + 10);
    const { notices, hold } = l.changeStarts('ann', A.hex, T + 20);
    expect(notices.map((n) => n.identity.toString()).sort()).toEqual(['api-a', 'api-b']);
    const fromB = notices.find((n) => n.identity.equals(B.id));
    expect(hold?.seqs).toEqual(new Set([fromB?.seq]));
    expect(hold?.holdersUntil).toBe(T + 10 + LEASE);
    // A second change finds no holder left: nothing to tell, nothing to wait for.
    expect(l.changeStarts('ann', A.hex, T + 30)).toEqual({ notices: [] });
  });

  it('tells no one whose lease ran out, and holds nothing for the sender alone', () => {
    const l = leases();
    l.grant('ann', l.readStarts('ann', T), B.id, B.hex, T);
    expect(l.changeStarts('ann', A.hex, T + LEASE)).toEqual({ notices: [] });
    l.changeEnds('ann');
    l.grant('ann', l.readStarts('ann', T + LEASE), A.id, A.hex, T + LEASE);
    const own = l.changeStarts('ann', A.hex, T + LEASE + 1);
    expect(own.notices).toHaveLength(1);
    expect(own.hold).toBeUndefined();
  });

  it("holds every change answered within a lease of the broker's start (leases of a run before it)", () => {
    const l = new ReadLeases({ leaseMs: LEASE, quietMs: QUIET });
    const { hold } = l.changeStarts('ann', A.hex, 100);
    expect(hold).toEqual({ seqs: new Set(), holdersUntil: 0, notBefore: 100 + LEASE });
    expect(holdIsOver(hold as never, 100 + LEASE - 1)).toBe(false);
    expect(holdIsOver(hold as never, 100 + LEASE)).toBe(true);
  });

  it('grants nothing while a lost worker may still be writing', () => {
    const l = leases();
    l.workerLost(T);
    expect(l.grant('ann', l.readStarts('ann', T + 1), A.id, A.hex, T + 1)).toBe(false);
    expect(l.grant('ann', l.readStarts('ann', T + QUIET), A.id, A.hex, T + QUIET)).toBe(true);
  });

  it('a forgotten pod comes back with a new version, so a read in flight meanwhile gets no lease', () => {
    const l = new ReadLeases({ leaseMs: LEASE, quietMs: 0, maxPods: 2 });
    const seen = l.readStarts('ann', T);
    l.changeStarts('ann', A.hex, T);
    l.changeEnds('ann'); // nothing running, no holder: forgotten
    expect(l.size).toBe(0);
    expect(l.grant('ann', seen, A.id, A.hex, T)).toBe(false);
    // Bounded: past maxPods, pods with a live lease stay and a new pod's read gets none.
    l.grant('p1', l.readStarts('p1', T), A.id, A.hex, T);
    l.grant('p2', l.readStarts('p2', T), A.id, A.hex, T);
    expect(l.readStarts('p3', T)).toBeUndefined();
    expect(l.size).toBe(2);
    // Their leases run out: room again.
    expect(l.readStarts('p3', T + LEASE)).toBeDefined();
  });
});

describe('BrokerCore read leases', () => {
  const worker = Buffer.from('worker');
  const setup = (now = T) => {
    const sent: { to: 'client' | 'worker'; peer: string; frames: Buffer[] }[] = [];
    const core = new BrokerCore(
      {
        heartbeatMs: 100,
        liveness: 3,
        maxQueuePerService: 100,
        noWorkerGraceMs: 500,
        placementQuietMs: 0,
        readLeaseMs: LEASE,
      },
      {
        toClient: (peer, frames) => sent.push({ to: 'client', peer: peer.toString(), frames }),
        toWorker: (peer, frames) => sent.push({ to: 'worker', peer: peer.toString(), frames }),
      },
      createBrokerMetrics(new Registry()),
    );
    core.onWorkerReady(worker, { services: ['files'], capacity: 10 }, 0);
    let next = 0;
    /** A request from `client`; returns its id. */
    const send = (client: Buffer, command: string, at: number, lease = command === 'files.get') => {
      const header: RequestHeader = {
        id: `r${next++}`,
        service: 'files',
        command,
        deadline: at + 60_000,
        idempotent: true,
        requestId: 'x',
        pod: 'ann',
        ...(lease ? { lease: true } : {}),
      };
      core.onClientRequest(client, header, pack(header), Buffer.alloc(0), at);
      return header.id;
    };
    /** The worker answers request `id` of `client`. */
    const answer = (client: Buffer, id: string, at: number) =>
      core.onWorkerReply(
        worker,
        'FINAL',
        client,
        id,
        pack({ id }),
        encodeOutcome({ ok: true, value: 1 }),
        at,
      );
    const toClients = () => {
      const out = sent
        .filter((s) => s.to === 'client')
        .map((s) => ({ peer: s.peer, message: decodeClientMessage(s.frames) }));
      sent.length = 0;
      return out;
    };
    // Past the first lease window after the broker's start.
    answer(A.id, send(A.id, 'files.put', 0), 0);
    core.onWorkerHeartbeat(worker, now);
    core.tick(now);
    toClients();
    return { core, send, answer, toClients };
  };
  const describeMessage = ({ peer, message }: { peer: string; message: ClientMessage }) =>
    message.command === 'INVALIDATE'
      ? `${peer} INVALIDATE ${message.header.pod}`
      : `${peer} ${message.command} ${(message.header as { id: string }).id}${message.command === 'FINAL' && message.leaseMs !== undefined ? ` lease ${message.leaseMs}` : ''}`;

  it('grants a lease with the answer of a read that asked, and tells its holder before the next change is answered', () => {
    const { send, answer, toClients } = setup();
    const read = send(B.id, 'files.get', T);
    const plain = send(B.id, 'files.info', T, true); // not a read whose answer may be kept
    answer(B.id, read, T);
    answer(B.id, plain, T);
    const write = send(A.id, 'files.put', T + 1);
    expect(toClients().map(describeMessage)).toEqual([
      `api-b FINAL ${read} lease ${LEASE}`,
      `api-b FINAL ${plain}`,
      'api-b INVALIDATE ann',
    ]);
    answer(A.id, write, T + 2);
    expect(toClients()).toEqual([]); // held: api-b has not dropped its lease yet
  });

  it("sends a held answer once the other api acknowledges, and not for someone else's acknowledgement", () => {
    const { core, send, answer, toClients } = setup();
    answer(B.id, send(B.id, 'files.get', T), T);
    toClients();
    const write = send(A.id, 'files.put', T + 1);
    const notice = toClients()[0]?.message as Extract<ClientMessage, { command: 'INVALIDATE' }>;
    answer(A.id, write, T + 2);
    core.onClientInvalidated(A.id, notice.header.seq, T + 3); // not the one told
    expect(toClients()).toEqual([]);
    core.onClientInvalidated(B.id, notice.header.seq, T + 3);
    expect(toClients().map(describeMessage)).toEqual([`api-a FINAL ${write}`]);
    expect(core.idle).toBe(true);
  });

  it('sends a held answer when the lease it waited for ran out, even with no acknowledgement', () => {
    const { core, send, answer, toClients } = setup();
    answer(B.id, send(B.id, 'files.get', T), T);
    const write = send(A.id, 'files.put', T + 100);
    answer(A.id, write, T + 200);
    toClients();
    core.tick(T + LEASE - 1);
    expect(toClients()).toEqual([]);
    expect(core.idle).toBe(false);
    core.tick(T + LEASE);
    expect(toClients().map(describeMessage)).toEqual([`api-a FINAL ${write}`]);
  });

  it('tells the sender of a change on the same connection before its answer, and does not wait for it', () => {
    const { send, answer, toClients } = setup();
    answer(A.id, send(A.id, 'files.get', T), T);
    const write = send(A.id, 'files.put', T + 1);
    answer(A.id, write, T + 2);
    expect(toClients().map(describeMessage).slice(1)).toEqual([
      'api-a INVALIDATE ann',
      `api-a FINAL ${write}`,
    ]);
  });

  it('grants no lease to a read that a change overlapped, nor while a change runs', () => {
    const { send, answer, toClients } = setup();
    const early = send(B.id, 'files.get', T);
    const write = send(A.id, 'files.put', T + 1);
    const during = send(B.id, 'files.get', T + 2);
    answer(B.id, early, T + 3);
    answer(B.id, during, T + 3);
    answer(A.id, write, T + 4);
    const after = send(B.id, 'files.get', T + 5);
    answer(B.id, after, T + 6);
    expect(toClients().map(describeMessage)).toEqual([
      `api-b FINAL ${early}`,
      `api-b FINAL ${during}`,
      `api-a FINAL ${write}`,
      `api-b FINAL ${after} lease ${LEASE}`,
    ]);
  });

  it('ignores a forged acknowledgement frame shape: an INVALIDATE needs a pod and a positive seq', () => {
    expect(() => decodeClientMessage(encodeInvalidate({ pod: 'ann', seq: 0 }))).toThrow(/seq/);
    expect(() => decodeClientMessage(encodeInvalidate({ pod: '', seq: 1 }))).toThrow(/pod/);
    expect(() => decodeWorkerMessage(encodeInvalidate({ pod: 'ann', seq: 1 }))).toThrow();
  });
});
