/**
 * The api's connection to the broker: one DEALER, many concurrent calls matched to replies by id. It
 * pings the broker (the `broker.status` service) every heartbeat interval; while the broker is silent,
 * calls fail at once with `unavailable` instead of waiting for their deadline.
 *
 * When the connection drops (the broker died or restarted), every call in flight fails at once with
 * `unavailable` (503): its reply can never come, as a restarted broker knows nothing of it. (A broker
 * that hangs without dropping the connection is left to the calls' deadlines: a busy broker must not
 * turn into a burst of failures.) Sends wait at most one liveness window, never forever.
 */

import type { Registry } from 'prom-client';
import { Dealer } from 'zeromq';
import { encodeCommandBody } from '../protocol/command-body.ts';
import { type CommandName, LEASED_READS, type ServiceName } from '../protocol/commands.ts';
import {
  type BrokerErrorCode,
  CLIENT_PROTOCOL,
  decodeClientMessage,
  encodeClientReply,
  encodeClientRequest,
  encodeInvalidate,
  isBatch,
  ProtocolError,
  type RequestHeader,
  splitBatch,
} from '../protocol/frames.ts';
import { decodeOutcome, type Outcome } from '../protocol/outcome.ts';
import type { Logger } from '../runtime/logger.ts';
import { SocketWriter } from '../runtime/socket-writer.ts';
import { type BrokerLinkMetrics, createBrokerLinkMetrics } from './broker-metrics.ts';
import { BrokerStream } from './files/broker-stream.ts';
import { ReadCache } from './read-cache.ts';

const EMPTY = Buffer.alloc(0);

export interface BrokerClientOptions {
  endpoint: string;
  heartbeatMs: number;
  liveness: number;
  highWaterMark: number;
  /** A transfer whose HTTP client makes no progress for this long is abandoned (default 30 s). */
  streamIdleMs?: number;
  /**
   * Memory for pod owners' small-file reads kept under the broker's read leases (read-cache.ts, decision
   * 0009), in bytes. 0 or absent: none kept, none asked for.
   */
  readCacheBytes?: number;
}

export interface CallOptions {
  actor: string | null;
  requestId: string;
  idempotent: boolean;
  timeoutMs: number;
  /** The fairness key (the principal, or the client's address): the broker takes turns between callers. */
  caller?: string;
  /** The pod the command acts on: the broker prefers one worker per pod (protocol/frames.ts). */
  pod?: string;
}

/** Why a call got no outcome from a worker: the broker's own error, or no broker at all. */
export class BrokerCallError extends Error {
  override name = 'BrokerCallError';
  constructor(readonly code: BrokerErrorCode | 'unavailable' | 'no_reply') {
    super(`broker call failed: ${code}`);
  }
}

/** True when the call failed because the worker running it died (the broker may not resend it). */
export const isWorkerLost = (error: unknown): boolean =>
  error instanceof BrokerCallError && error.code === 'worker_lost';

export interface BrokerStatus {
  services: Record<string, { workers: number; queued: number }>;
  workers: { id: string; services: string[]; capacity: number; inFlight: number; dispatched: number }[];
}

interface Pending {
  service: string;
  resolve: (outcome: Outcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  stream?: BrokerStream;
  /** A read that asked for a lease: where its answer is kept, and when it was sent. */
  lease?: { pod: string; key: string; sentAt: number; parts: boolean };
}

/** Slack past the deadline before the api stops waiting for the broker's own timeout answer. */
const REPLY_GRACE_MS = 1000;
/** Answered by the broker itself (the liveness ping). */
const STATUS_SERVICE = 'broker.status';

export class BrokerClient {
  readonly #socket: Dealer;
  /** Tags: the ids of the calls, so that a failed send fails them. */
  readonly #writer: SocketWriter<string>;
  readonly #pending = new Map<string, Pending>();
  #nextId = 0;
  #lastHeard = 0;
  /** The broker has sent a BATCH: it reads them, so calls made in one turn go as one message. */
  #brokerBatches = false;
  #closing = false;
  #pingTimer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  readonly #metrics: BrokerLinkMetrics;
  readonly #readCache: ReadCache | undefined;

  constructor(
    private readonly options: BrokerClientOptions,
    private readonly logger: Logger,
    /** The api's metrics registry, for the broker-link metrics (broker-metrics.ts). */
    registry?: Registry,
  ) {
    this.#socket = new Dealer({
      linger: 0,
      sendHighWaterMark: options.highWaterMark,
      receiveHighWaterMark: options.highWaterMark,
      sendTimeout: 0, // the writer waits for room only when the queue is full (socket-writer.ts)
    });
    this.#writer = new SocketWriter<string>(this.#socket, {
      batches: () => this.#brokerBatches,
      onFailure: (_peer, err, ids) => this.#sendFailed(err, ids),
      waitMs: options.heartbeatMs * options.liveness,
    });
    this.#metrics = createBrokerLinkMetrics(registry);
    const cacheBytes = options.readCacheBytes ?? 0;
    this.#readCache = cacheBytes > 0 ? new ReadCache(cacheBytes) : undefined;
  }

  /** True while the broker has answered within the liveness window. */
  get available(): boolean {
    return Date.now() - this.#lastHeard <= this.options.heartbeatMs * this.options.liveness;
  }

  start(): void {
    // A dropped connection means the broker that holds our calls is gone (or forgot us): fail them now.
    this.#socket.events.on('disconnect', () => {
      if (this.#closing) return;
      this.#lastHeard = 0;
      this.#brokerBatches = false; // the next broker may be an older one
      this.#readCache?.clear(); // its notices can no longer reach this api
      this.#loseAll('the connection to the broker dropped');
    });
    const ping = () => {
      this.#metrics.brokerUp.set(this.available ? 1 : 0);
      this.#readCache?.dropExpired(performance.now());
      this.status(this.options.heartbeatMs * this.options.liveness).catch(() => undefined);
    };
    // (Re)connected: ask at once, so calls are let through as soon as the broker answers.
    this.#socket.events.on('connect', ping);
    this.#socket.connect(this.options.endpoint);
    this.#loop = this.#receive();
    ping();
    this.#pingTimer = setInterval(ping, this.options.heartbeatMs);
  }

  /** Calls whose REQUEST could not be sent: they fail with `unavailable` (503). One log line per send. */
  #sendFailed(err: unknown, ids: string[]): void {
    let failed = 0;
    for (const id of ids) {
      const p = this.#pending.get(id);
      if (p === undefined) continue;
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new BrokerCallError('unavailable'));
      failed++;
    }
    if (failed > 0)
      this.logger.warn({ err: (err as Error | undefined)?.message, calls: failed }, 'send to broker failed');
  }

  /** Fails every call in flight with `unavailable` (their replies cannot come any more). */
  #loseAll(reason: string): void {
    this.#metrics.brokerUp.set(0);
    let lost = 0;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new BrokerCallError('unavailable'));
      if (p.service !== STATUS_SERVICE) lost++;
    }
    if (lost > 0) {
      this.#metrics.lostCalls.inc(lost);
      this.logger.warn({ lost }, `${reason}: calls in flight failed`);
    } else {
      this.logger.warn(reason);
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#pingTimer);
    this.#socket.close();
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new BrokerCallError('unavailable'));
      this.#pending.delete(id);
    }
    await this.#loop;
  }

  /** Sends a command to `service` and resolves to the worker's outcome. */
  call(service: ServiceName, command: CommandName, args: object, options: CallOptions): Promise<Outcome> {
    if (!this.available) {
      this.#metrics.calls.inc({ service, outcome: 'unavailable' });
      return Promise.reject(new BrokerCallError('unavailable'));
    }
    return this.#request(service, command, encodeCommandBody({ actor: options.actor, args }), options);
  }

  /**
   * Starts a streamed command (upload or download). Parts flow through the returned BrokerStream; its
   * `result` settles with the FINAL outcome, or rejects with BrokerCallError.
   */
  openStream(service: ServiceName, command: CommandName, args: object, options: CallOptions): BrokerStream {
    const id = (this.#nextId++).toString(36);
    const stream = new BrokerStream(
      (final, part, body = EMPTY, credit) =>
        this.#writer.send(
          encodeClientReply(
            final ? 'FINAL' : 'PARTIAL',
            { id, part, ...(credit === undefined ? {} : { credit }) },
            body,
          ),
        ),
      this.options.streamIdleMs,
    );
    if (!this.available) {
      this.#metrics.calls.inc({ service, outcome: 'unavailable' });
      stream.finish(new BrokerCallError('unavailable'));
      return stream;
    }
    const body = encodeCommandBody({ actor: options.actor, args });
    const lease = this.#leaseOf(command, body, options);
    const kept = this.#kept(lease);
    if (kept !== undefined) {
      stream.finish(decodeOutcome(kept));
      return stream;
    }
    this.#metrics.streamsInFlight.inc();
    stream.result.then(
      () => this.#metrics.streamsInFlight.dec(),
      () => this.#metrics.streamsInFlight.dec(),
    );
    this.#request(service, command, body, { ...options, stream: true }, id, stream, lease).then(
      (outcome) => stream.finish(outcome),
      (err: Error) => stream.finish(err),
    );
    return stream;
  }

  /** Asks the broker which workers serve what. */
  async status(timeoutMs: number): Promise<BrokerStatus> {
    const outcome = await this.#request(STATUS_SERVICE, 'status', Buffer.of(0xc0), {
      actor: null,
      requestId: 'status',
      idempotent: true,
      timeoutMs,
    });
    if (!outcome.ok) throw new BrokerCallError('no_reply');
    return outcome.value as BrokerStatus;
  }

  /**
   * Where a read's answer may be kept (a read of LEASED_READS by the pod's owner, with a read cache):
   * the pod and the key (the command and its encoded body: actor and arguments), else undefined.
   */
  #leaseOf(command: string, body: Buffer, options: CallOptions): { pod: string; key: string } | undefined {
    const { actor, pod } = options;
    if (this.#readCache === undefined || pod === undefined || actor !== pod || !LEASED_READS.has(command))
      return undefined;
    return { pod, key: `${command}\0${body.toString('latin1')}` };
  }

  /** The answer kept for a read that may be kept, if its lease still holds (counted: hit or miss). */
  #kept(lease: { key: string } | undefined): Buffer | undefined {
    if (lease === undefined || this.#readCache === undefined) return undefined;
    const kept = this.#readCache.get(lease.key, performance.now());
    this.#metrics.readCache.inc({ outcome: kept === undefined ? 'miss' : 'hit' });
    return kept;
  }

  #request(
    service: string,
    command: string,
    body: Buffer,
    options: CallOptions & { stream?: boolean },
    id = (this.#nextId++).toString(36),
    stream?: BrokerStream,
    lease?: { pod: string; key: string },
  ): Promise<Outcome> {
    const header: RequestHeader = {
      id,
      service,
      command,
      deadline: Date.now() + options.timeoutMs,
      idempotent: options.idempotent,
      requestId: options.requestId,
    };
    if (options.caller !== undefined) header.caller = options.caller;
    if (options.pod !== undefined) header.pod = options.pod;
    if (options.stream === true) header.stream = true;
    if (lease !== undefined) header.lease = true;
    // The liveness ping tells the broker this client reads batched replies.
    if (service === STATUS_SERVICE) header.batch = true;
    const calls = service === STATUS_SERVICE ? undefined : this.#metrics.calls;
    const result = new Promise<Outcome>((resolve, reject) => {
      // Counted where it settles (a reply, a timeout, a lost connection, a failed send).
      const settle =
        calls === undefined
          ? { resolve, reject }
          : {
              resolve: (outcome: Outcome) => {
                calls.inc({ service, outcome: outcome.ok ? 'ok' : outcome.error.code });
                resolve(outcome);
              },
              reject: (err: Error) => {
                calls.inc({ service, outcome: err instanceof BrokerCallError ? err.code : 'error' });
                reject(err);
              },
            };
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        settle.reject(new BrokerCallError('no_reply'));
      }, options.timeoutMs + REPLY_GRACE_MS);
      const pending: Pending = { service, resolve: settle.resolve, reject: settle.reject, timer };
      if (stream !== undefined) pending.stream = stream;
      // Sent now: the lease counts from here (the broker counts from its answer, later).
      if (lease !== undefined) pending.lease = { ...lease, sentAt: performance.now(), parts: false };
      this.#pending.set(id, pending);
      // A failed send fails the call (#sendFailed), with every other call of the same send.
      this.#writer.post(encodeClientRequest(header, body), id);
    });
    return result;
  }

  async #receive(): Promise<void> {
    try {
      for await (const frames of this.#socket) this.#onReply(frames);
    } catch (err) {
      if (!this.#socket.closed) this.logger.error({ err }, 'broker receive loop failed');
    }
  }

  #onReply(frames: Buffer[]): void {
    this.#lastHeard = Date.now();
    if (!isBatch(frames)) {
      this.#onOneReply(frames);
      return;
    }
    let messages: Buffer[][];
    try {
      messages = splitBatch(frames, CLIENT_PROTOCOL);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.logger.warn({ err: err.message }, 'malformed batch from broker dropped');
      return;
    }
    this.#brokerBatches = true;
    for (const message of messages) this.#onOneReply(message);
  }

  #onOneReply(frames: Buffer[]): void {
    let pending: Pending | undefined;
    try {
      const message = decodeClientMessage(frames);
      if (message.command === 'REQUEST') return;
      if (message.command === 'INVALIDATE') {
        // Forgotten before anything after this notice is read; then the broker hears it is done.
        this.#readCache?.invalidate(message.header.pod);
        this.#writer.post(encodeInvalidate(message.header));
        return;
      }
      pending = this.#pending.get(message.header.id);
      if (pending === undefined) return; // answered already (timed out here)
      if (message.command === 'PARTIAL') {
        if (pending.lease !== undefined) pending.lease.parts = true;
        const { part = 'data', credit } = message.header;
        pending.stream?.deliver({ part, ...(credit === undefined ? {} : { credit }), body: message.body });
        return;
      }
      this.#pending.delete(message.header.id);
      clearTimeout(pending.timer);
      if (message.header.error !== undefined) {
        pending.reject(new BrokerCallError(message.header.error));
        return;
      }
      const outcome = decodeOutcome(message.body);
      const lease = pending.lease;
      // Kept: a whole answer (no parts) that succeeded, with a lease the broker granted.
      if (lease !== undefined && message.leaseMs !== undefined && !lease.parts && outcome.ok)
        this.#readCache?.put(lease.pod, lease.key, message.body, lease.sentAt + message.leaseMs);
      pending.resolve(outcome);
    } catch (err) {
      if (!(err instanceof ProtocolError || err instanceof TypeError || err instanceof RangeError)) throw err;
      this.logger.warn({ err: err.message }, 'malformed reply from broker dropped');
      pending?.reject(new BrokerCallError('no_reply'));
    }
  }
}
