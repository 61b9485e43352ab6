/**
 * The worker's side of the protocol: one DEALER to the broker's backend. Says READY with its services
 * and capacity, exchanges heartbeats, runs requests concurrently through `handle`, and starts a fresh
 * session (new socket, new READY) when the broker goes silent or says DISCONNECT, as in Majordomo.
 *
 * A request whose deadline passes is given up: its channel is aborted (a transfer stops), and the
 * router answers `timeout`. Sends wait at most one liveness window (a broker that reads nothing is as
 * good as gone); a failed send is counted and logged, never silent.
 */

import type { Counter, Gauge } from 'prom-client';
import { Dealer } from 'zeromq';
import {
  decodeWorkerMessage,
  encodeWorkerReady,
  encodeWorkerReply,
  encodeWorkerSignal,
  isBatch,
  ProtocolError,
  type RequestHeader,
  splitBatch,
  WORKER_PROTOCOL,
} from '../protocol/frames.ts';
import { CommandError, ErrorCode } from '../protocol/outcome.ts';
import type { Placement } from '../protocol/placement.ts';
import type { Logger } from '../runtime/logger.ts';
import { SocketWriter } from '../runtime/socket-writer.ts';
import { RequestChannel, StreamAbortedError } from './streams/request-channel.ts';

export interface SessionOptions {
  endpoint: string;
  services: string[];
  capacity: number;
  /** Transfer slots besides `capacity` (streams never take command slots); 0: transfers share them. */
  transferCapacity?: number;
  heartbeatMs: number;
  liveness: number;
  highWaterMark: number;
}

/** Runs one command; resolves to the FINAL reply body. Must not reject (errors belong in the body). */
export type RequestHandler = (channel: RequestChannel) => Promise<Buffer>;

/** What the session counts (worker/metrics.ts). */
export interface SessionMetrics {
  streamsInFlight: Gauge;
  deadlineAbandoned: Counter;
  sendFailures: Counter;
}

const EMPTY = Buffer.alloc(0);
/** At most one log line about failed sends this often. */
const SEND_FAILURE_LOG_MS = 5000;

export class BrokerSession {
  #socket: Dealer | undefined;
  #writer: SocketWriter | undefined;
  /** The broker of this session has sent a BATCH: it reads them, so replies of one turn go as one. */
  #brokerBatches = false;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #lastHeard = 0;
  #stopping = false;
  #inFlight = 0;
  readonly #channels = new Map<string, RequestChannel>();
  #idle: (() => void)[] = [];
  #sendFailureLoggedAt = 0;

  constructor(
    private readonly options: SessionOptions,
    private readonly handle: RequestHandler,
    private readonly logger: Logger,
    private readonly metrics?: SessionMetrics,
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.#connect();
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), this.options.heartbeatMs);
  }

  /** Leaves gracefully: DISCONNECT, then waits (up to graceMs) for in-flight commands to finish. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    await this.#send(encodeWorkerSignal('DISCONNECT'));
    if (this.#inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.#idle.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    clearInterval(this.#heartbeatTimer);
    this.#socket?.close();
  }

  #connect(): void {
    this.#socket?.close();
    // A new session has a new identity: no client part can reach the streams of the old one any more
    // (and their replies would be dropped), so stop them now rather than after STREAM_IDLE_MS.
    for (const channel of this.#channels.values()) {
      channel.abort(new StreamAbortedError('the broker session was lost'));
    }
    const socket = new Dealer({
      linger: 0,
      sendHighWaterMark: this.options.highWaterMark,
      receiveHighWaterMark: this.options.highWaterMark,
      sendTimeout: 0, // the writer waits for room only when the queue is full (socket-writer.ts)
    });
    // Connected: the broker is there (READY goes out first), so count silence from now. Dropped: the broker
    // died or restarted and knows nothing of this session; start a fresh one at once rather than after
    // the liveness window, so the worker is registered again as soon as the broker is back.
    socket.events.on('connect', () => {
      if (socket === this.#socket) this.#lastHeard = Date.now();
    });
    socket.events.on('disconnect', () => {
      if (socket !== this.#socket || this.#stopping) return;
      this.logger.warn('connection to the broker dropped: registering again');
      this.#connect();
    });
    socket.connect(this.options.endpoint);
    this.#socket = socket;
    this.#brokerBatches = false;
    this.#writer = new SocketWriter(socket, {
      batches: () => this.#brokerBatches,
      waitMs: this.options.heartbeatMs * this.options.liveness,
    });
    this.#lastHeard = Date.now();
    const { services, capacity, transferCapacity = 0 } = this.options;
    void this.#send(
      encodeWorkerReady({
        services,
        capacity,
        ...(transferCapacity > 0 ? { transfers: transferCapacity } : {}),
        batch: true,
      }),
    );
    void this.#receive(socket);
    this.logger.info(
      { endpoint: this.options.endpoint, services, capacity, transferCapacity },
      'connecting to broker',
    );
  }

  async #receive(socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) this.#onMessage(frames);
    } catch (err) {
      if (!socket.closed) this.logger.error({ err }, 'receive loop failed');
    }
  }

  #onMessage(frames: Buffer[]): void {
    this.#lastHeard = Date.now();
    if (!isBatch(frames)) {
      this.#onOneMessage(frames);
      return;
    }
    let messages: Buffer[][];
    try {
      messages = splitBatch(frames, WORKER_PROTOCOL);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.logger.warn({ err: err.message }, 'malformed batch from broker dropped');
      return;
    }
    this.#brokerBatches = true;
    for (const message of messages) this.#onOneMessage(message);
  }

  #onOneMessage(frames: Buffer[]): void {
    let message: ReturnType<typeof decodeWorkerMessage>;
    try {
      message = decodeWorkerMessage(frames);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.logger.warn({ err: err.message }, 'malformed message from broker dropped');
      return;
    }
    switch (message.command) {
      case 'REQUEST':
        this.#run(message.client, message.header, message.body, message.placement);
        break;
      case 'PARTIAL':
      case 'FINAL': {
        // A part of a client's stream for a request this worker runs.
        const { id, part, credit } = message.header;
        const channel = this.#channels.get(`${message.client.toString('hex')}/${id}`);
        channel?.deliver({
          part: part ?? 'data',
          ...(credit === undefined ? {} : { credit }),
          body: message.body,
        });
        break;
      }
      case 'HEARTBEAT':
        break;
      case 'DISCONNECT':
        if (!this.#stopping) {
          this.logger.info('broker does not know this worker: registering again');
          this.#connect();
        }
        break;
      default:
        this.logger.warn({ command: message.command }, 'unexpected command from broker dropped');
    }
  }

  #run(client: Buffer, header: RequestHeader, body: Buffer, placement: Placement | undefined): void {
    this.#inFlight++;
    const key = `${client.toString('hex')}/${header.id}`;
    const channel = new RequestChannel(
      header,
      body,
      (part, partBody = EMPTY, credit) =>
        this.#send(
          encodeWorkerReply(
            'PARTIAL',
            client,
            { id: header.id, part, ...(credit === undefined ? {} : { credit }) },
            partBody,
          ),
        ),
      () => this.metrics?.streamsInFlight.inc(),
    );
    channel.placement = placement;
    this.#channels.set(key, channel);
    // Past its deadline nobody waits for the answer: stop the transfer (the router answers `timeout`).
    const deadlineTimer = setTimeout(
      () => channel.abort(new CommandError(ErrorCode.TIMEOUT, 'deadline passed')),
      Math.max(0, Math.min(header.deadline - Date.now(), 2 ** 31 - 1)),
    );
    void this.#complete(client, header, channel, key, deadlineTimer);
  }

  /** Runs the command to its FINAL reply, then frees its slot. */
  async #complete(
    client: Buffer,
    header: RequestHeader,
    channel: RequestChannel,
    key: string,
    deadlineTimer: NodeJS.Timeout,
  ): Promise<void> {
    try {
      const reply = await this.handle(channel);
      if (Date.now() >= header.deadline) {
        // It ran into its deadline: given up, answered `timeout` (nobody may wait for it any more).
        this.metrics?.deadlineAbandoned.inc();
        this.logger.warn(
          { requestId: header.requestId, command: header.command },
          'deadline passed: command given up',
        );
      }
      await this.#send(encodeWorkerReply('FINAL', client, { id: header.id }, reply));
    } catch (err) {
      this.logger.error({ err, requestId: header.requestId }, 'could not send reply');
    } finally {
      clearTimeout(deadlineTimer);
      if (channel.streamed) this.metrics?.streamsInFlight.dec();
      this.#channels.delete(key);
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #heartbeat(): void {
    if (Date.now() - this.#lastHeard > this.options.heartbeatMs * this.options.liveness && !this.#stopping) {
      this.logger.warn('broker silent: reconnecting');
      this.#connect();
      return;
    }
    void this.#send(encodeWorkerSignal('HEARTBEAT'));
  }

  async #send(frames: Buffer[]): Promise<void> {
    try {
      await this.#writer?.send(frames);
    } catch (err) {
      this.metrics?.sendFailures.inc();
      const now = Date.now();
      if (now - this.#sendFailureLoggedAt >= SEND_FAILURE_LOG_MS) {
        this.#sendFailureLoggedAt = now;
        this.logger.warn({ err: (err as Error).message }, 'send to broker failed; message dropped');
      }
    }
  }
}
