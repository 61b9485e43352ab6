/**
 * The broker process's moving parts: a ROUTER for clients (frontend), a ROUTER for workers (backend), a
 * heartbeat timer and a tick for deadlines, all feeding BrokerCore. One receive loop per socket;
 * every decision is in BrokerCore.
 */
import { Router } from 'zeromq';
import { unpack } from '../protocol/codec.ts';
import {
  CLIENT_PROTOCOL,
  decodeClientMessage,
  decodeWorkerMessage,
  isBatch,
  ProtocolError,
  splitBatch,
  WORKER_PROTOCOL,
} from '../protocol/frames.ts';
import type { Logger } from '../runtime/logger.ts';
import { SocketWriter } from '../runtime/socket-writer.ts';
import { BatchingPeers } from './batching-peers.ts';
import { BrokerCore, type BrokerSettings } from './broker-core.ts';
import type { BrokerMetrics } from './metrics.ts';
import { reasonOf, SendFailureLog } from './send-failures.ts';

export interface BrokerOptions extends BrokerSettings {
  frontend: string;
  backend: string;
  /** ZeroMQ high-water mark (messages) on both sockets. */
  highWaterMark: number;
  /** Largest frame accepted; a peer that sends a larger one is disconnected by ZeroMQ. */
  maxMessageBytes: number;
}

export class Broker {
  readonly core: BrokerCore;
  readonly #frontend: Router;
  readonly #backend: Router;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Clients and workers that read BATCH messages: what goes to them in one turn goes as one message. */
  readonly #batchingClients = new BatchingPeers();
  readonly #batchingWorkers = new BatchingPeers();
  #loops: Promise<void>[] = [];
  /** Whether each request is logged (LOG_LEVEL debug): asked once, not on every message. */
  readonly #logsRequests: boolean;

  constructor(
    private readonly options: BrokerOptions,
    private readonly logger: Logger,
    metrics: BrokerMetrics,
  ) {
    this.#logsRequests = logger.isLevelEnabled('debug');
    // `mandatory`: a message for a peer that is gone or full fails (counted and logged) instead of
    // vanishing; zeromq.js never waits on a ROUTER, so one slow peer cannot stall the others.
    const socketOptions = {
      mandatory: true,
      sendHighWaterMark: options.highWaterMark,
      receiveHighWaterMark: options.highWaterMark,
      maxMessageSize: options.maxMessageBytes,
      linger: 0,
      // A ROUTER never waits anyway; 0 spares zeromq.js an events check (and, under load, a deferral to
      // the next turn of the event loop) on every send.
      sendTimeout: 0,
    };
    this.#frontend = new Router(socketOptions);
    this.#backend = new Router(socketOptions);
    const failures = new SendFailureLog(logger, metrics.sendFailures);
    // What the core sends in one turn goes out after it, per peer, batched where the peer reads batches.
    const toClients = new SocketWriter(this.#frontend, {
      routed: true,
      batches: (peer) => this.#batchingClients.has(peer),
      onFailure: (peer, err, _tags, messages) => failures.record('client', peer, err, messages),
    });
    const toWorkers = new SocketWriter<string>(this.#backend, {
      routed: true,
      batches: (peer) => this.#batchingWorkers.has(peer),
      onFailure: (peer, err, undelivered, messages) => {
        if (peer === undefined) return;
        failures.record('worker', peer, err, messages);
        // Its connection is gone: the worker died. Do not wait for its heartbeats to run out.
        if (reasonOf(err) === 'peer_gone') this.core.onWorkerUnreachable(peer, undelivered, Date.now());
      },
    });
    this.core = new BrokerCore(
      options,
      {
        toClient: (identity, frames) => toClients.post([identity, ...frames]),
        toWorker: (identity, frames, dispatching) => toWorkers.post([identity, ...frames], dispatching),
      },
      metrics,
    );
  }

  /** Binds both sockets; resolves to the endpoints actually bound (useful with port `*`). */
  async start(): Promise<{ frontend: string; backend: string }> {
    await this.#frontend.bind(this.options.frontend);
    await this.#backend.bind(this.options.backend);
    this.#loops = [this.#clientLoop(), this.#workerLoop()];
    this.#timers.push(setInterval(() => this.core.heartbeat(), this.options.heartbeatMs));
    this.#timers.push(setInterval(() => this.core.tick(Date.now()), Math.min(100, this.options.heartbeatMs)));
    const endpoints = {
      frontend: this.#frontend.lastEndpoint ?? this.options.frontend,
      backend: this.#backend.lastEndpoint ?? this.options.backend,
    };
    this.logger.info(endpoints, 'broker listening');
    return endpoints;
  }

  /**
   * Graceful stop: refuses new requests (503 at the api), lets what is queued or in flight finish and
   * relays its replies, for at most `graceMs`; then closes.
   */
  async drain(graceMs: number): Promise<void> {
    this.core.drain();
    const until = Date.now() + graceMs;
    this.logger.info({ pending: this.core.pendingCount, graceMs }, 'draining');
    while (!this.core.idle && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (!this.core.idle)
      this.logger.warn({ pending: this.core.pendingCount }, 'grace over: requests dropped');
    // The sockets close with linger 0: give ZeroMQ's I/O thread a moment to put the last replies out.
    await new Promise((r) => setTimeout(r, 100));
    await this.stop();
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#frontend.close();
    this.#backend.close();
    await Promise.allSettled(this.#loops);
  }

  async #clientLoop(): Promise<void> {
    for await (const [identity, ...frames] of this.#frontend) {
      if (identity === undefined) continue;
      if (!isBatch(frames)) {
        this.#onClientMessage(identity, frames);
        continue;
      }
      let messages: Buffer[][];
      try {
        messages = splitBatch(frames, CLIENT_PROTOCOL);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.logger.warn(
          { peer: identity.toString('hex'), err: err.message },
          'malformed client batch dropped',
        );
        this.core.onClientMalformed(identity, undefined);
        continue;
      }
      this.#batchingClients.add(identity);
      for (const message of messages) this.#onClientMessage(identity, message);
    }
  }

  #onClientMessage(identity: Buffer, frames: Buffer[]): void {
    try {
      const message = decodeClientMessage(frames);
      if (message.command === 'INVALIDATE') {
        this.core.onClientInvalidated(identity, message.header.seq, Date.now());
        return;
      }
      if (message.command !== 'REQUEST') {
        const { id, part } = message.header;
        this.core.onClientPart(
          identity,
          message.command,
          id,
          part,
          frames[2] as Buffer,
          message.body,
          Date.now(),
        );
        return;
      }
      if (message.header.batch === true) this.#batchingClients.add(identity);
      // The request id in the broker's log too (at debug: asked once, not built per message otherwise).
      if (this.#logsRequests) {
        const { requestId, service, command } = message.header;
        this.logger.debug({ requestId, service, command }, 'request');
      }
      this.core.onClientRequest(identity, message.header, frames[2] as Buffer, message.body, Date.now());
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.logger.warn(
        { peer: identity.toString('hex'), err: err.message },
        'malformed client message dropped',
      );
      this.core.onClientMalformed(identity, readIdQuietly(frames[2]));
    }
  }

  async #workerLoop(): Promise<void> {
    for await (const [identity, ...frames] of this.#backend) {
      if (identity === undefined) continue;
      if (!isBatch(frames)) {
        this.#onWorkerMessage(identity, frames);
        continue;
      }
      let messages: Buffer[][];
      try {
        messages = splitBatch(frames, WORKER_PROTOCOL);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.logger.warn(
          { peer: identity.toString('hex'), err: err.message },
          'malformed worker batch dropped',
        );
        this.core.onWorkerMalformed();
        continue;
      }
      this.#batchingWorkers.add(identity);
      for (const message of messages) this.#onWorkerMessage(identity, message);
    }
  }

  #onWorkerMessage(identity: Buffer, frames: Buffer[]): void {
    const now = Date.now();
    try {
      const message = decodeWorkerMessage(frames);
      switch (message.command) {
        case 'READY':
          this.logger.info({ worker: identity.toString('hex'), ...message.header }, 'worker ready');
          if (message.header.batch === true) this.#batchingWorkers.add(identity);
          this.core.onWorkerReady(identity, message.header, now);
          break;
        case 'PARTIAL':
        case 'FINAL':
          this.core.onWorkerReply(
            identity,
            message.command,
            message.client,
            message.header.id,
            frames[3] as Buffer,
            message.body,
            now,
          );
          break;
        case 'HEARTBEAT':
          this.core.onWorkerHeartbeat(identity, now);
          break;
        case 'DISCONNECT':
          this.logger.info({ worker: identity.toString('hex') }, 'worker leaving');
          this.core.onWorkerDisconnect(identity);
          break;
        case 'REQUEST':
          throw new ProtocolError('REQUEST from a worker is not supported');
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.logger.warn(
        { peer: identity.toString('hex'), err: err.message },
        'malformed worker message dropped',
      );
      this.core.onWorkerMalformed();
    }
  }
}

/** The request id of a malformed request, if its header frame still yields one, so the client can be told. */
function readIdQuietly(frame: Buffer | undefined): string | undefined {
  if (frame === undefined || frame.length === 0 || frame.length > 4096) return undefined;
  try {
    const value = unpack(frame) as { id?: unknown } | null;
    return typeof value?.id === 'string' && value.id.length <= 128 ? value.id : undefined;
  } catch {
    return undefined;
  }
}
