/**
 * The broker's logic, Majordomo-style, with no sockets: messages come in through the `on*` methods, go
 * out through the Outbox, and time moves only when the caller passes `now`. broker.ts wires it to two
 * ROUTER sockets; the unit tests drive it directly.
 *
 * Routing reads only the small header frame; bodies are forwarded as the bytes they arrived as.
 */

import { pack } from '../protocol/codec.ts';
import { LEASED_READS, LEAVES_FILES_UNCHANGED } from '../protocol/commands.ts';
import {
  BrokerError,
  type BrokerErrorCode,
  encodeClientReply,
  encodeInvalidate,
  encodeWorkerSignal,
  type PartKind,
  type ReadyHeader,
  type RequestHeader,
  relayPartToWorker,
  relayToClient,
  relayToWorker,
} from '../protocol/frames.ts';
import { encodeOutcome } from '../protocol/outcome.ts';
import { encodePlacement } from '../protocol/placement.ts';
import type { BrokerMetrics } from './metrics.ts';
import { podHash } from './pod-affinity.ts';
import { PodPlacements } from './pod-placements.ts';
import { type AnswerHold, holdIsOver, ReadLeases } from './read-leases.ts';
import { LANES, type Lane, RequestQueues } from './request-queue.ts';
import { type WorkerEntry, WorkerRegistry } from './worker-registry.ts';

export interface Outbox {
  toClient(identity: Buffer, frames: Buffer[]): void;
  /** `dispatching`: the key of the request these frames hand to the worker, if they do. */
  toWorker(identity: Buffer, frames: Buffer[], dispatching?: string): void;
}

export interface BrokerSettings {
  heartbeatMs: number;
  liveness: number;
  maxQueuePerService: number;
  /** How long a request may wait for a service that has no worker at all before NO_WORKER. */
  noWorkerGraceMs: number;
  /** Requests one caller may have waiting per service and lane (over it: THROTTLED). Default: no bound but the lane's. */
  maxQueuePerCaller?: number;
  /** Commands served first, on slots of their own (token checks). Default: `auth.resolve`. */
  priorityCommands?: readonly string[];
  /** Slots beyond each worker's command capacity that only priority commands may take. Default 0. */
  priorityReserve?: number;
  /**
   * A transfer through which no part moved (either way) for this long no longer holds a transfer slot
   * (it is parked) until a part moves again. 0: never parked. Default 0.
   */
  transferIdleMs?: number;
  /** Transfers, moving or parked, one worker may hold at most. Default: its transfer slots (no parking). */
  maxTransfersPerWorker?: number;
  /**
   * A pod's commands go to its home worker (rendezvous hashing over the live workers, pod-affinity.ts)
   * while it has a free slot and runs fewer than `podAffinityBound` times the workers' average of that
   * lane; else to the least-loaded worker. Off: always the least-loaded. Default on.
   */
  podAffinity?: boolean;
  /** How far above the average load a home still takes its pods' commands (1: up to the average). Default 1.5. */
  podAffinityBound?: number;
  /**
   * The bound for a pod's commands that change its files (not in LEAVES_FILES_UNCHANGED). A change run
   * elsewhere ends what the home may answer from memory for a while (pod-placements.ts), a read run
   * elsewhere only misses it once, so this may be set higher than the reads' bound. Default 1.5.
   */
  podChangeBound?: number;
  /**
   * With pod affinity on, a pod's commands carry a placement (pod-placements.ts) that lets the pod's
   * home answer reads from memory. For this long after a worker is lost, and after the first dispatch,
   * none allows it: longer than a lost worker may still be changing files. Default 120 s.
   */
  placementQuietMs?: number;
  /** This broker's run number in placements (random by default; tests fix it). */
  placementRun?: number;
  /**
   * How long a read lease lasts (read-leases.ts, decision 0009): an api may answer a pod owner's reads of
   * LEASED_READS from its memory this long, and a change of the pod is acknowledged only once every api
   * that holds a lease has dropped it (or it ran out). 0: no leases. Default 0.
   */
  readLeaseMs?: number;
}

/** A change's answer held back until the apis that hold leases of its pod have dropped them. */
interface HeldAnswer {
  hold: AnswerHold;
  /** The answer, once its worker sent it (still held). */
  answer?: { client: Buffer; frames: Buffer[] };
}

/** The commands that are token checks: every authenticated request waits for one, so they go first. */
export const DEFAULT_PRIORITY_COMMANDS = ['auth.resolve'];

/** The broker answers this service itself, like Majordomo's `mmi.*`. */
export const STATUS_SERVICE = 'broker.status';
/** The metric label of requests for a service no worker has offered. */
export const OTHER_SERVICE_LABEL = 'other';

/**
 * Workers answer this service from memory (their cached storage state), so its commands go to a live
 * worker even when every worker is at capacity: readiness reports the storage, not the load.
 */
export const HEALTH_SERVICE = 'health';

interface ServiceMetrics {
  requests: { inc(): void };
  dispatched: { inc(): void };
  replies: { inc(): void };
  replySeconds: { observe(seconds: number): void };
  queueDepth: { set(value: number): void };
}

interface PendingRequest {
  key: string;
  client: Buffer;
  /** The fairness key: the header's `caller`, else the client's routing id. */
  caller: string;
  lane: Lane;
  header: RequestHeader;
  headerFrame: Buffer;
  body: Buffer;
  receivedAt: number;
  attempts: number;
  worker?: string;
  /** The message that handed it to its worker was never delivered (the worker was already gone). */
  undelivered?: boolean;
  /** A worker that had it was lost: it may have run. Later dispatches say so (`redelivered`). */
  mayHaveRun?: boolean;
  /** The client already got an answer (timeout) while the worker still runs the command. */
  answered: boolean;
  /** When a part of this stream last moved through the broker (either way), or it was dispatched. */
  movedAt: number;
  /** It may change its pod's files, and its worker has not answered yet (pod-placements.ts). */
  changing?: { pod: string; worker: string };
  /** A change counted in the read leases' bookkeeping, not answered yet: its pod. */
  leaseChange?: string;
  /** A read that asked for a lease: the pod version it was dispatched under (undefined: no lease). */
  leaseSeen?: number;
  /** A change whose answer waits for apis to drop their leases of its pod. */
  held?: HeldAnswer;
}

export class BrokerCore {
  readonly workers: WorkerRegistry;
  readonly #queues: RequestQueues<PendingRequest>;
  readonly #requests = new Map<string, PendingRequest>();
  readonly #priorityCommands: Set<string>;
  /** The per-service metric series, looked up once per service rather than by labels on every message. */
  readonly #serviceMetrics = new Map<string, ServiceMetrics>();
  /**
   * The services metrics are labelled with: those workers have offered (workers are trusted; their
   * services are few) and the broker's own. Any other name a client sends counts as `other`, so a
   * client cannot make the broker grow a metric series per made-up name.
   */
  readonly #labelledServices = new Set<string>([STATUS_SERVICE, HEALTH_SERVICE]);
  /** Set by drain(): new requests are refused, what is in flight or queued still finishes. */
  #draining = false;
  readonly #podDispatches: { home: { inc(): void }; elsewhere: { inc(): void } };
  /** What each pod's home is told (pod-placements.ts); undefined with pod affinity off. */
  readonly #placements: PodPlacements | undefined;
  /** Read leases of the apis (read-leases.ts); undefined when off. */
  readonly #leases: ReadLeases | undefined;
  /** Answers of changes held back, and the invalidations they wait for (by number, with who must answer). */
  readonly #held = new Set<HeldAnswer>();
  readonly #heldBySeq = new Map<number, { held: HeldAnswer; client: string }>();

  constructor(
    private readonly settings: BrokerSettings,
    private readonly outbox: Outbox,
    private readonly metrics: BrokerMetrics,
  ) {
    this.workers = new WorkerRegistry(settings.heartbeatMs * settings.liveness, {
      priorityReserve: settings.priorityReserve ?? 0,
      ...(settings.maxTransfersPerWorker === undefined
        ? {}
        : { maxTransfersPerWorker: settings.maxTransfersPerWorker }),
    });
    this.#queues = new RequestQueues(
      {
        maxPerService: settings.maxQueuePerService,
        maxPerCaller: settings.maxQueuePerCaller ?? settings.maxQueuePerService,
      },
      (r) => r.caller,
    );
    this.#priorityCommands = new Set(settings.priorityCommands ?? DEFAULT_PRIORITY_COMMANDS);
    this.#podDispatches = {
      home: metrics.podDispatches.labels({ to: 'home' }),
      elsewhere: metrics.podDispatches.labels({ to: 'elsewhere' }),
    };
    this.#placements =
      settings.podAffinity === false
        ? undefined
        : new PodPlacements({
            quietMs: settings.placementQuietMs ?? 120_000,
            ...(settings.placementRun === undefined ? {} : { run: settings.placementRun }),
          });
    this.#leases =
      (settings.readLeaseMs ?? 0) > 0
        ? new ReadLeases({
            leaseMs: settings.readLeaseMs as number,
            quietMs: settings.placementQuietMs ?? 120_000,
          })
        : undefined;
  }

  /** Which lane a request waits and runs in: token checks, transfers, or every other command. */
  laneOf(header: RequestHeader): Lane {
    if (this.#priorityCommands.has(header.command)) return 'priority';
    return header.stream === true ? 'transfer' : 'command';
  }

  // ------------------------------------------------------------------------------------------ clients

  onClientRequest(
    client: Buffer,
    header: RequestHeader,
    headerFrame: Buffer,
    body: Buffer,
    now: number,
  ): void {
    this.#metricsOf(header.service).requests.inc();
    if (header.service === STATUS_SERVICE) {
      this.#answerStatus(client, header.id);
      return;
    }
    const key = `${client.toString('hex')}/${header.id}`;
    if (this.#requests.has(key)) {
      this.#fail(client, header.id, BrokerError.MALFORMED);
      return;
    }
    if (header.deadline <= now) {
      this.#fail(client, header.id, BrokerError.TIMEOUT, header.service);
      return;
    }
    if (this.#draining) {
      this.#fail(client, header.id, BrokerError.NO_WORKER, header.service);
      return;
    }
    const lane = this.laneOf(header);
    const request: PendingRequest = {
      key,
      client,
      caller: header.caller ?? `client:${client.toString('hex')}`,
      lane,
      header,
      headerFrame,
      body,
      receivedAt: now,
      attempts: 0,
      answered: false,
      movedAt: now,
    };
    const worker =
      header.service === HEALTH_SERVICE
        ? this.workers.pickAny(header.service)
        : this.#choose(header.service, lane, header);
    if (worker !== undefined) {
      this.#requests.set(key, request);
      this.#dispatch(request, worker.id, now);
    } else {
      // Frames that came in a batch are views of its buffer: a request that waits keeps copies of its own,
      // so a queue of small requests never holds whole batches in memory.
      request.headerFrame = ownBytes(headerFrame);
      request.body = ownBytes(body);
      const queued = this.#queues.push(header.service, lane, request);
      if (queued === 'queued') this.#requests.set(key, request);
      else if (queued === 'caller_full') this.#fail(client, header.id, BrokerError.THROTTLED, header.service);
      else this.#fail(client, header.id, BrokerError.OVERLOADED, header.service);
    }
    this.#updateGauges(header.service);
  }

  /**
   * A part of a client's stream (upload data, download credit, end, cancel): relayed to the worker that
   * holds the request. A cancel for a request still queued removes it. Parts of unknown requests (already
   * finished) are dropped.
   */
  onClientPart(
    client: Buffer,
    kind: 'PARTIAL' | 'FINAL',
    id: string,
    part: PartKind | undefined,
    headerFrame: Buffer,
    body: Buffer,
    now = Date.now(),
  ): void {
    const request = this.#requests.get(`${client.toString('hex')}/${id}`);
    if (request === undefined || request.answered) return;
    const worker = request.worker === undefined ? undefined : this.workers.get(request.worker);
    if (worker !== undefined) {
      this.#moved(request, now);
      this.outbox.toWorker(worker.identity, relayPartToWorker(kind, client, headerFrame, body));
    } else if (part === 'cancel') {
      const removed = this.#queues.removeWhere((r) => r.key === request.key);
      if (removed.length > 0) {
        this.#requests.delete(request.key);
        this.#fail(client, id, BrokerError.CANCELLED, request.header.service);
        this.#updateGauges(request.header.service);
      }
    }
  }

  /**
   * A client dropped what it kept of a pod, as told by the invalidation `seq`: a change's answer that
   * waited only for that may go now.
   */
  onClientInvalidated(client: Buffer, seq: number, now: number): void {
    const entry = this.#heldBySeq.get(seq);
    if (entry === undefined || entry.client !== client.toString('hex')) return;
    this.#heldBySeq.delete(seq);
    entry.held.hold.seqs.delete(seq);
    this.#release(entry.held, now);
  }

  /** A frame from the frontend that cannot be routed; answered if it carried a usable id. */
  onClientMalformed(client: Buffer, id: string | undefined): void {
    this.metrics.malformed.inc({ side: 'client' });
    if (id !== undefined) this.#fail(client, id, BrokerError.MALFORMED);
  }

  // ------------------------------------------------------------------------------------------ workers

  onWorkerReady(identity: Buffer, ready: ReadyHeader, now: number): void {
    this.workers.register(identity, ready.services, ready.capacity, now, ready.transfers ?? 0);
    for (const service of ready.services) this.#labelledServices.add(service);
    for (const service of ready.services) this.#drainQueue(service, now);
    this.#updateWorkerGauges();
  }

  onWorkerReply(
    identity: Buffer,
    kind: 'PARTIAL' | 'FINAL',
    client: Buffer,
    id: string,
    headerFrame: Buffer,
    body: Buffer,
    now: number,
  ): void {
    const workerId = identity.toString('hex');
    if (!this.workers.touch(workerId, now)) {
      this.outbox.toWorker(identity, encodeWorkerSignal('DISCONNECT'));
      return;
    }
    const key = `${client.toString('hex')}/${id}`;
    const request = this.#requests.get(key);
    if (request === undefined || request.worker !== workerId) {
      if (kind === 'FINAL') this.metrics.lateReplies.inc();
      return; // late reply for a forgotten request
    }
    if (!request.answered) {
      const held = request.held;
      if (kind === 'FINAL' && held !== undefined && !holdIsOver(held.hold, now)) {
        // Frames from a batch are views of it: a held answer keeps copies of its own.
        held.answer = { client, frames: relayToClient(kind, ownBytes(headerFrame), ownBytes(body)) };
      } else {
        this.outbox.toClient(
          client,
          relayToClient(kind, headerFrame, body, this.#leaseOf(request, kind, now)),
        );
      }
    }
    if (kind === 'PARTIAL') {
      this.#moved(request, now);
      return;
    }
    const service = request.header.service;
    const series = this.#metricsOf(service);
    series.replies.inc();
    if (request.answered) {
      // The client was told `timeout` already; the worker's answer only frees its capacity.
      this.metrics.lateReplies.inc();
    } else {
      series.replySeconds.observe((now - request.receivedAt) / 1000);
    }
    this.#finish(request, now);
  }

  onWorkerHeartbeat(identity: Buffer, now: number): void {
    if (!this.workers.touch(identity.toString('hex'), now)) {
      this.outbox.toWorker(identity, encodeWorkerSignal('DISCONNECT'));
    }
  }

  /** The worker is leaving: nothing new goes to it; what it runs may still finish. */
  onWorkerDisconnect(identity: Buffer): void {
    const entry = this.workers.get(identity.toString('hex'));
    if (entry === undefined) return;
    entry.draining = true;
    if (entry.inFlight.size === 0) this.workers.remove(entry.id);
    this.#updateWorkerGauges();
  }

  /**
   * A send to this worker failed because its connection is gone: the process died or the network
   * dropped it. It is lost now, without waiting for its heartbeats to run out. The dispatches the failed
   * send carried (`undelivered`, one or a batch) never reached the worker, so they are dispatched again
   * whatever their kind.
   */
  onWorkerUnreachable(identity: Buffer, undelivered: readonly string[], now: number): void {
    const workerId = identity.toString('hex');
    if (this.workers.get(workerId) === undefined) return;
    for (const key of undelivered) {
      const request = this.#requests.get(key);
      if (request !== undefined && request.worker === workerId && !request.undelivered) {
        request.undelivered = true;
        request.attempts -= 1; // it never ran: this dispatch does not count
      }
    }
    this.#lose(workerId, now);
  }

  onWorkerMalformed(): void {
    this.metrics.malformed.inc({ side: 'worker' });
  }

  // ------------------------------------------------------------------------------------------ shutdown

  /**
   * Starts a graceful stop: new requests are answered `no_worker` at once (the api says 503), while
   * requests in flight or queued still run and their replies are relayed. `idle` tells when none is left.
   */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** True when no request waits for a worker or a reply, and no answer is held back. */
  get idle(): boolean {
    return this.#requests.size === 0 && this.#held.size === 0;
  }

  // ------------------------------------------------------------------------------------------ time

  /** Sends heartbeats to every worker. Called every heartbeat interval. */
  heartbeat(): void {
    for (const w of this.workers.all()) this.outbox.toWorker(w.identity, encodeWorkerSignal('HEARTBEAT'));
  }

  /** Expires silent workers and late requests. Called often (every ~100 ms). */
  tick(now: number): void {
    for (const dead of this.workers.expired(now)) this.#lose(dead.id, now);
    const late = this.#queues.removeWhere((r, service) => {
      if (r.header.deadline <= now) return true;
      return this.workers.countServing(service) === 0 && now - r.receivedAt >= this.settings.noWorkerGraceMs;
    });
    for (const r of late) {
      this.#requests.delete(r.key);
      const reason = r.header.deadline <= now ? BrokerError.TIMEOUT : BrokerError.NO_WORKER;
      this.#fail(r.client, r.header.id, reason, r.header.service, now - r.receivedAt);
      this.#updateGauges(r.header.service);
    }
    for (const r of this.#requests.values()) {
      if (r.worker !== undefined && !r.answered && r.header.deadline <= now) {
        // The worker still holds the command (and its capacity) until it answers or dies.
        r.answered = true;
        this.#fail(r.client, r.header.id, BrokerError.TIMEOUT, r.header.service, now - r.receivedAt);
      }
    }
    this.#parkIdleTransfers(now);
    for (const held of this.#held) this.#release(held, now);
    this.metrics.inFlight.set(this.#requests.size);
  }

  /** A part of a stream moved: a parked transfer takes a transfer slot again. */
  #moved(request: PendingRequest, now: number): void {
    request.movedAt = now;
    const worker = request.worker === undefined ? undefined : this.workers.get(request.worker);
    if (worker === undefined) return;
    if (worker.parked.delete(request.key)) worker.transfers.add(request.key);
  }

  /**
   * Transfers through which nothing moved for `transferIdleMs` give their slot back (a stalled upload, a
   * reader that stopped): the freed slots go to waiting transfers. They stay on their worker, parked.
   */
  #parkIdleTransfers(now: number): void {
    const idleMs = this.settings.transferIdleMs ?? 0;
    if (idleMs <= 0) return;
    for (const worker of this.workers.all()) {
      let parked = 0;
      for (const key of worker.transfers) {
        const request = this.#requests.get(key);
        if (request === undefined || now - request.movedAt < idleMs) continue;
        worker.transfers.delete(key);
        worker.parked.add(key);
        parked++;
      }
      if (parked > 0) {
        this.metrics.transfersParked.inc(parked);
        for (const service of worker.services) this.#drainQueue(service, now);
      }
    }
  }

  get pendingCount(): number {
    return this.#requests.size;
  }

  // ------------------------------------------------------------------------------------------ internals

  #dispatch(request: PendingRequest, workerId: string, now: number): void {
    const worker = this.workers.get(workerId);
    if (worker === undefined) return;
    if (request.mayHaveRun && request.header.redelivered !== true) {
      request.header = { ...request.header, redelivered: true };
      request.headerFrame = pack(request.header);
    }
    request.worker = workerId;
    request.undelivered = false;
    request.attempts += 1;
    worker.inFlight.add(request.key);
    if (this.workers.onTransferSlots(worker, request.lane)) worker.transfers.add(request.key);
    request.movedAt = now;
    worker.lastDispatchAt = now;
    worker.dispatched += 1;
    this.#metricsOf(request.header.service).dispatched.inc();
    const placement = this.#place(request, worker.id, now);
    this.#leaseOnDispatch(request, now);
    this.outbox.toWorker(
      worker.identity,
      relayToWorker(request.client, request.headerFrame, request.body, placement),
      request.key,
    );
  }

  /**
   * Read leases at a dispatch (read-leases.ts): a read that asks for one notes the pod version it runs
   * under; a change tells the apis that hold leases of its pod, and its answer waits for them.
   */
  #leaseOnDispatch(request: PendingRequest, now: number): void {
    const leases = this.#leases;
    const { pod, command, lease } = request.header;
    if (leases === undefined || pod === undefined) return;
    if (LEAVES_FILES_UNCHANGED.has(command)) {
      if (lease === true && LEASED_READS.has(command)) request.leaseSeen = leases.readStarts(pod, now);
      return;
    }
    const clientHex = request.client.toString('hex');
    const { notices, hold } = leases.changeStarts(pod, clientHex, now);
    request.leaseChange = pod;
    // A change dispatched again (its worker was lost) keeps what it already waited for.
    const held =
      hold === undefined
        ? undefined
        : (request.held ?? { hold: { seqs: new Set<number>(), holdersUntil: 0, notBefore: 0 } });
    for (const notice of notices) {
      this.metrics.leaseNotices.inc();
      this.outbox.toClient(notice.identity, encodeInvalidate({ pod: notice.pod, seq: notice.seq }));
      if (held === undefined || !hold?.seqs.has(notice.seq)) continue;
      held.hold.seqs.add(notice.seq);
      this.#heldBySeq.set(notice.seq, { held, client: notice.identity.toString('hex') });
    }
    if (hold === undefined || held === undefined) return;
    held.hold.holdersUntil = Math.max(held.hold.holdersUntil, hold.holdersUntil);
    held.hold.notBefore = Math.max(held.hold.notBefore, hold.notBefore);
    request.held = held;
    this.#held.add(held);
  }

  /** The lease a FINAL answer carries: its length when the broker grants one, else undefined. */
  #leaseOf(request: PendingRequest, kind: 'PARTIAL' | 'FINAL', now: number): number | undefined {
    const leases = this.#leases;
    const pod = request.header.pod;
    if (kind !== 'FINAL' || leases === undefined || pod === undefined || request.header.lease !== true)
      return undefined;
    if (!LEASED_READS.has(request.header.command)) return undefined;
    const granted = leases.grant(pod, request.leaseSeen, request.client, request.client.toString('hex'), now);
    this.metrics.leases.inc({ outcome: granted ? 'granted' : 'refused' });
    return granted ? leases.leaseMs : undefined;
  }

  /** Sends a held answer once what it waits for is over, and forgets it (with its invalidations). */
  #release(held: HeldAnswer, now: number): void {
    if (!holdIsOver(held.hold, now)) return;
    if (held.answer === undefined) {
      // Still running: nothing to send yet, and no acknowledgement is waited for any more.
      for (const seq of held.hold.seqs) this.#heldBySeq.delete(seq);
      held.hold.seqs.clear();
      return;
    }
    this.#dropHeld(held);
    this.outbox.toClient(held.answer.client, held.answer.frames);
  }

  #dropHeld(held: HeldAnswer): void {
    this.#held.delete(held);
    for (const seq of held.hold.seqs) this.#heldBySeq.delete(seq);
  }

  /** The placement frame of a pod's command (pod-placements.ts); undefined for a command of no pod. */
  #place(request: PendingRequest, workerId: string, now: number): Buffer | undefined {
    const { pod, service, command } = request.header;
    if (pod === undefined || this.#placements === undefined) return undefined;
    const home = this.workers.homeOf(service, podHash(pod));
    const changes = !LEAVES_FILES_UNCHANGED.has(command);
    if (changes) request.changing = { pod, worker: workerId };
    return encodePlacement(this.#placements.dispatch(pod, workerId, home?.id, changes, now));
  }

  /** The request's worker answered it or was lost: a change it may have made is no longer in flight. */
  #settle(request: PendingRequest): void {
    if (request.leaseChange !== undefined) {
      this.#leases?.changeEnds(request.leaseChange);
      delete request.leaseChange;
    }
    if (request.changing === undefined) return;
    this.#placements?.answered(request.changing.pod, request.changing.worker);
    delete request.changing;
  }

  /**
   * The worker for a request: its pod's home while the home may take it (a free slot, a load within the
   * bound: a change's bound, or a read's), else the least-loaded worker with a free slot (undefined when
   * none has).
   */
  #choose(service: string, lane: Lane, header: RequestHeader): WorkerEntry | undefined {
    const { pod, command } = header;
    if (pod === undefined || this.settings.podAffinity === false) return this.workers.pick(service, lane);
    const bound = LEAVES_FILES_UNCHANGED.has(command)
      ? (this.settings.podAffinityBound ?? 1.5)
      : (this.settings.podChangeBound ?? 1.5);
    const home = this.workers.boundedHome(service, podHash(pod), lane, bound);
    if (home !== undefined) {
      this.#podDispatches.home.inc();
      return home;
    }
    const other = this.workers.pick(service, lane);
    if (other !== undefined) this.#podDispatches.elsewhere.inc();
    return other;
  }

  #finish(request: PendingRequest, now: number): void {
    this.#requests.delete(request.key);
    this.#settle(request);
    // Its answer went out (or it had been answered already): nothing of it is held.
    if (request.held !== undefined && request.held.answer === undefined) this.#dropHeld(request.held);
    const worker = request.worker === undefined ? undefined : this.workers.get(request.worker);
    if (worker === undefined) return;
    worker.inFlight.delete(request.key);
    worker.transfers.delete(request.key);
    worker.parked.delete(request.key);
    if (worker.draining && worker.inFlight.size === 0) {
      this.workers.remove(worker.id);
      this.#updateWorkerGauges();
      return;
    }
    for (const service of worker.services) this.#drainQueue(service, now);
  }

  /** Hands queued requests of `service` to free slots: token checks first, then commands, then transfers. */
  #drainQueue(service: string, now: number): void {
    let dispatched = 0;
    for (const lane of LANES) {
      for (;;) {
        if (this.#queues.depth(service, lane) === 0) break;
        if (this.workers.pick(service, lane) === undefined) break; // no free slot anywhere
        const request = this.#queues.shift(service, lane);
        if (request === undefined) break;
        const worker = this.#choose(service, lane, request.header) as WorkerEntry;
        this.#dispatch(request, worker.id, now);
        dispatched++;
      }
    }
    // Called for every service of a worker on every reply: the gauge changes only when the queue did.
    if (dispatched > 0) this.#updateGauges(service);
  }

  /**
   * A worker died or went silent: retry its idempotent commands once elsewhere, and the ones it never
   * received; fail the rest (they may have run).
   */
  #lose(workerId: string, now: number): void {
    const worker = this.workers.remove(workerId);
    if (worker === undefined) return;
    this.metrics.workersLost.inc();
    // It may still be changing pods (alive and cut off, or slow): no home trusts its memory for a while.
    if (worker.inFlight.size > 0) {
      this.#placements?.workerLost(now);
      this.#leases?.workerLost(now);
    }
    // Last first: each retry goes to the front of its queue, so they keep the order they came in.
    for (const key of [...worker.inFlight].reverse()) {
      const request = this.#requests.get(key);
      if (request === undefined) continue;
      request.worker = undefined;
      this.#settle(request);
      const retry = request.undelivered || (request.header.idempotent && request.attempts < 2);
      const lost = request.answered || !(retry && request.header.deadline > now);
      if (lost && request.held !== undefined) this.#dropHeld(request.held);
      if (request.answered) {
        this.#requests.delete(key);
      } else if (retry && request.header.deadline > now) {
        if (!request.undelivered) request.mayHaveRun = true;
        this.metrics.retried.inc({ service: this.#serviceLabel(request.header.service) });
        this.#queues.pushFront(request.header.service, request.lane, request);
      } else {
        this.#requests.delete(key);
        this.#fail(
          request.client,
          request.header.id,
          BrokerError.WORKER_LOST,
          request.header.service,
          now - request.receivedAt,
        );
      }
    }
    this.#updateWorkerGauges();
    for (const service of worker.services) this.#drainQueue(service, now);
  }

  #fail(client: Buffer, id: string, error: BrokerErrorCode, service?: string, elapsedMs = 0): void {
    this.metrics.errors.inc({ code: error });
    if (service !== undefined)
      this.metrics.requestSeconds.observe(
        { service: this.#serviceLabel(service), outcome: error },
        elapsedMs / 1000,
      );
    this.outbox.toClient(client, encodeClientReply('FINAL', { id, error }));
  }

  #answerStatus(client: Buffer, id: string): void {
    const services: Record<string, { workers: number; queued: number }> = {};
    const workers = [...this.workers.all()].map((w) => {
      for (const s of w.services) {
        const entry = services[s] ?? { workers: 0, queued: this.#queues.depth(s) };
        if (!w.draining) entry.workers += 1;
        services[s] = entry;
      }
      return {
        id: w.id,
        services: w.services,
        capacity: w.capacity,
        transferCapacity: w.transferCapacity,
        inFlight: w.inFlight.size,
        transfers: w.transfers.size,
        parked: w.parked.size,
        dispatched: w.dispatched,
        draining: w.draining,
      };
    });
    const body = encodeOutcome({ ok: true, value: { services, workers } });
    this.outbox.toClient(client, encodeClientReply('FINAL', { id }, body));
  }

  #updateGauges(service: string): void {
    this.#metricsOf(service).queueDepth.set(this.#queues.depth(service));
  }

  #serviceLabel(service: string): string {
    return this.#labelledServices.has(service) ? service : OTHER_SERVICE_LABEL;
  }

  #metricsOf(named: string): ServiceMetrics {
    const service = this.#serviceLabel(named);
    let series = this.#serviceMetrics.get(service);
    if (series === undefined) {
      series = {
        requests: this.metrics.requests.labels({ service }),
        dispatched: this.metrics.dispatched.labels({ service }),
        replies: this.metrics.replies.labels({ service }),
        replySeconds: this.metrics.requestSeconds.labels({ service, outcome: 'reply' }),
        queueDepth: this.metrics.queueDepth.labels({ service }),
      };
      this.#serviceMetrics.set(service, series);
    }
    return series;
  }

  #updateWorkerGauges(): void {
    this.metrics.workersAlive.set(this.workers.size);
  }
}

/** `bytes` itself when it is all of its memory, else a copy (a view of a batch would keep the batch). */
function ownBytes(bytes: Buffer): Buffer {
  return bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength ? bytes : Buffer.from(bytes);
}
