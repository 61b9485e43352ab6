/**
 * podstore wire protocol, version 1 (PSC1 for clients, PSW1 for workers).
 *
 * Modelled on ZeroMQ's Majordomo protocol (MDP/0.2). Every message is a multipart ZeroMQ message whose
 * first frame names the protocol and version and whose second frame is a one-byte command. The header
 * frame is a small msgpack map that the broker reads for routing; the body frame is opaque bytes that
 * the broker forwards without decoding. See protocol/README.md for the frame tables.
 *
 * This module is pure: it turns frames into typed messages and back, and never touches a socket.
 */
import { pack, unpack } from './codec.ts';
import { decodePlacement, type Placement } from './placement.ts';

export const CLIENT_PROTOCOL = 'PSC1';
export const WORKER_PROTOCOL = 'PSW1';
export type Protocol = typeof CLIENT_PROTOCOL | typeof WORKER_PROTOCOL;

export const Command = {
  READY: 0x01,
  REQUEST: 0x02,
  PARTIAL: 0x03,
  FINAL: 0x04,
  HEARTBEAT: 0x05,
  DISCONNECT: 0x06,
  BATCH: 0x07,
  INVALIDATE: 0x08,
} as const;
export type CommandName = keyof typeof Command;

/** What a client says about a command: read by the broker for routing and by the worker for dispatch. */
export interface RequestHeader {
  /** Unique per client connection; replies carry it back. */
  id: string;
  /** Service that executes the command, e.g. `users`. */
  service: string;
  /** Operation within the service, e.g. `users.get`. */
  command: string;
  /** Absolute deadline, milliseconds since the epoch. Past it nobody works on the command. */
  deadline: number;
  /** Whether running the command twice has the same effect as once (it may be re-dispatched). */
  idempotent: boolean;
  /** Correlates log lines from api, broker and worker. */
  requestId: string;
  /**
   * Set by the broker when it sends the command again after the worker it went to was lost: that
   * worker may have run it. The worker then answers as the first run would have (a DELETE that finds
   * nothing was most likely done by it: 204, not 404).
   */
  redelivered?: boolean;
  /**
   * Who the command is for, as far as fairness goes: the authenticated principal, or the client's address
   * while unauthenticated. The broker's queues take turns between callers, and bound each one's backlog.
   * Without it the broker uses the sending client's routing id.
   */
  caller?: string;
  /**
   * The pod (its owner's name) the command acts on, if one: the broker sends a pod's commands to one
   * worker while it has room (rendezvous hashing, broker/pod-affinity.ts), so that worker's batches and
   * caches see the pod's traffic. A preference only: nothing may depend on it for correctness.
   */
  pod?: string;
  /**
   * The command is a transfer (an upload or a download stream): it runs on the worker's transfer slots,
   * never on its command slots, so stalled transfers cannot take the capacity other commands need.
   */
  stream?: boolean;
  /**
   * The client reads BATCH messages: the broker may bundle its replies (see "Batches" in README.md). The
   * api says so on its `broker.status` pings; any BATCH from a client says so too.
   */
  batch?: boolean;
  /**
   * The client would keep the answer of this read (a command of LEASED_READS, by the pod's owner) under a
   * read lease: the broker grants one with the FINAL when no change of the pod ran while the read did, and
   * tells the client (INVALIDATE) before it acknowledges any later change of the pod (broker/read-leases.ts).
   */
  lease?: boolean;
}

/** Errors raised by the broker itself, without any worker involved. */
export const BrokerError = {
  /** Every worker is busy and the service's queue is full. */
  OVERLOADED: 'overloaded',
  /** The deadline passed before a worker answered. */
  TIMEOUT: 'timeout',
  /** No worker serves this service right now (after a grace period in the queue). */
  NO_WORKER: 'no_worker',
  /** The worker executing the command went away and the command could not be retried. */
  WORKER_LOST: 'worker_lost',
  /** The client sent something the broker cannot route. */
  MALFORMED: 'malformed',
  /** The client cancelled the request before a worker took it. */
  CANCELLED: 'cancelled',
  /** The caller already has as many requests waiting for this service as it may (BROKER_MAX_QUEUE_PER_CALLER). */
  THROTTLED: 'throttled',
} as const;
export type BrokerErrorCode = (typeof BrokerError)[keyof typeof BrokerError];

/**
 * What a PARTIAL or FINAL frame of a stream carries (see protocol/README.md, "Streams"):
 * `meta` (worker → client: msgpack metadata before the bytes), `data` (raw bytes, either way),
 * `credit` (the receiver may take `credit` more data parts), `end` (client → worker: the body is
 * complete), `cancel` (client → worker: stop and clean up).
 */
export const PART_KINDS = ['meta', 'data', 'credit', 'end', 'cancel'] as const;
export type PartKind = (typeof PART_KINDS)[number];

export interface ReplyHeader {
  id: string;
  /** Set when the broker answers on a worker's behalf; the body is then empty. */
  error?: BrokerErrorCode;
  /** Set on the parts of a stream. */
  part?: PartKind;
  /** With `part: 'credit'`: how many more data parts the sender may send. */
  credit?: number;
}

export interface ReadyHeader {
  services: string[];
  /** How many commands the worker runs at once. */
  capacity: number;
  /**
   * How many transfers (commands with `stream`) the worker runs at once, besides its commands. Absent or
   * 0: transfers take command slots (a worker of an older version).
   */
  transfers?: number;
  /** The worker reads BATCH messages: the broker may bundle what it sends it. */
  batch?: boolean;
}

/** An INVALIDATE: broker → client, forget what you keep of `pod`; client → broker, done (same `seq`). */
export interface InvalidateHeader {
  pod: string;
  /** The broker's number for this invalidation; the client's acknowledgement carries it back. */
  seq: number;
}

export type ClientMessage =
  | { command: 'REQUEST'; header: RequestHeader; body: Buffer }
  | { command: 'PARTIAL'; header: ReplyHeader; body: Buffer }
  /** `leaseMs`: the broker granted a read lease of this long with the answer (broker → client only). */
  | { command: 'FINAL'; header: ReplyHeader; body: Buffer; leaseMs?: number }
  | { command: 'INVALIDATE'; header: InvalidateHeader };

export type WorkerMessage =
  | { command: 'READY'; header: ReadyHeader }
  | { command: 'REQUEST'; client: Buffer; header: RequestHeader; body: Buffer; placement?: Placement }
  | { command: 'PARTIAL' | 'FINAL'; client: Buffer; header: ReplyHeader; body: Buffer }
  | { command: 'HEARTBEAT' }
  | { command: 'DISCONNECT' };

/** A frame sequence that does not follow the protocol. Callers log it and drop it (or answer MALFORMED). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const EMPTY = Buffer.alloc(0);
/**
 * The protocol and command frames are the same bytes in every message: built once. (ZeroMQ copies frames
 * this small when it sends them, and nothing writes into them.)
 */
const PROTOCOL_FRAME = {
  [CLIENT_PROTOCOL]: Buffer.from(CLIENT_PROTOCOL),
  [WORKER_PROTOCOL]: Buffer.from(WORKER_PROTOCOL),
};
const CLIENT = PROTOCOL_FRAME[CLIENT_PROTOCOL];
const WORKER = PROTOCOL_FRAME[WORKER_PROTOCOL];
const COMMAND_FRAME = Object.fromEntries(
  Object.entries(Command).map(([name, byte]) => [name, Buffer.of(byte)]),
) as Record<CommandName, Buffer>;
const commandByte = (name: CommandName): Buffer => COMMAND_FRAME[name];
const commandNames = new Map<number, CommandName>(
  Object.entries(Command).map(([name, byte]) => [byte, name as CommandName]),
);

// ---------------------------------------------------------------------------------------------- encode

export function encodeClientRequest(header: RequestHeader, body: Buffer): Buffer[] {
  return [CLIENT, commandByte('REQUEST'), pack(header), body];
}

export function encodeClientReply(
  kind: 'PARTIAL' | 'FINAL',
  header: ReplyHeader,
  body: Buffer = EMPTY,
): Buffer[] {
  return [CLIENT, commandByte(kind), pack(header), body];
}

/**
 * The broker relays a worker's reply to its client: the header frame is forwarded as received. A FINAL
 * may carry a read lease (`leaseMs`, milliseconds) as a fifth frame: a uint32, big-endian.
 */
export function relayToClient(
  kind: 'PARTIAL' | 'FINAL',
  headerFrame: Buffer,
  body: Buffer,
  leaseMs?: number,
): Buffer[] {
  if (leaseMs === undefined) return [CLIENT, commandByte(kind), headerFrame, body];
  const lease = Buffer.allocUnsafe(4);
  lease.writeUInt32BE(leaseMs >>> 0);
  return [CLIENT, commandByte(kind), headerFrame, body, lease];
}

/** An INVALIDATE (either way: the broker's notice, or the client's acknowledgement of it). */
export function encodeInvalidate(header: InvalidateHeader): Buffer[] {
  return [CLIENT, commandByte('INVALIDATE'), pack(header)];
}

/** The broker relays a client's stream part to the worker that holds the request. */
export function relayPartToWorker(
  kind: 'PARTIAL' | 'FINAL',
  client: Buffer,
  headerFrame: Buffer,
  body: Buffer,
): Buffer[] {
  return [WORKER, commandByte(kind), client, headerFrame, body];
}

/** The broker relays a client's request to a worker: the header frame is forwarded as received. */
/** A client's request, handed to a worker as it came; `placement` (placement.ts) when it has a pod. */
export function relayToWorker(
  client: Buffer,
  headerFrame: Buffer,
  body: Buffer,
  placement?: Buffer,
): Buffer[] {
  return placement === undefined
    ? [WORKER, commandByte('REQUEST'), client, headerFrame, body]
    : [WORKER, commandByte('REQUEST'), client, headerFrame, body, placement];
}

export function encodeWorkerReady(header: ReadyHeader): Buffer[] {
  return [WORKER, commandByte('READY'), pack(header)];
}

export function encodeWorkerRequest(client: Buffer, header: RequestHeader, body: Buffer): Buffer[] {
  return [WORKER, commandByte('REQUEST'), client, pack(header), body];
}

export function encodeWorkerReply(
  kind: 'PARTIAL' | 'FINAL',
  client: Buffer,
  header: ReplyHeader,
  body: Buffer,
): Buffer[] {
  return [WORKER, commandByte(kind), client, pack(header), body];
}

export function encodeWorkerSignal(kind: 'HEARTBEAT' | 'DISCONNECT'): Buffer[] {
  return [WORKER, commandByte(kind)];
}

// ---------------------------------------------------------------------------------------------- decode

function readCommand(frames: Buffer[], protocol: Protocol): CommandName {
  const [proto, cmd] = frames;
  if (proto === undefined || cmd === undefined) throw new ProtocolError('truncated message');
  if (!proto.equals(PROTOCOL_FRAME[protocol])) {
    throw new ProtocolError(
      `unknown protocol or version ${JSON.stringify(proto.toString('latin1').slice(0, 16))}`,
    );
  }
  const name = cmd.length === 1 ? commandNames.get(cmd[0] as number) : undefined;
  if (name === undefined) throw new ProtocolError(`unknown command 0x${cmd.toString('hex').slice(0, 8)}`);
  return name;
}

function expectFrames(frames: Buffer[], count: number, what: string): void {
  if (frames.length !== count) {
    throw new ProtocolError(`${what} takes ${count} frames, got ${frames.length}`);
  }
}

function decodeMap(frame: Buffer | undefined): Record<string, unknown> {
  let value: unknown;
  try {
    value = unpack(frame ?? EMPTY);
  } catch {
    throw new ProtocolError('header is not valid msgpack');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError('header is not a map');
  }
  return value as Record<string, unknown>;
}

const isString = (v: unknown, max = 256): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max;

function decodeRequestHeader(frame: Buffer | undefined): RequestHeader {
  const h = decodeMap(frame);
  if (!isString(h.id, 128)) throw new ProtocolError('request header needs an id');
  if (!isString(h.service, 64)) throw new ProtocolError('request header needs a service');
  if (!isString(h.command, 64)) throw new ProtocolError('request header needs a command');
  if (typeof h.deadline !== 'number' || !Number.isFinite(h.deadline)) {
    throw new ProtocolError('request header needs a numeric deadline');
  }
  if (typeof h.idempotent !== 'boolean') throw new ProtocolError('request header needs idempotent');
  const header: RequestHeader = {
    id: h.id,
    service: h.service,
    command: h.command,
    deadline: h.deadline,
    idempotent: h.idempotent,
    requestId: isString(h.requestId, 128) ? h.requestId : h.id,
  };
  // Only what is set (read once per message on every hop: no spread objects).
  if (h.redelivered === true) header.redelivered = true;
  if (isString(h.caller, 128)) header.caller = h.caller;
  if (isString(h.pod, 128)) header.pod = h.pod;
  if (h.stream === true) header.stream = true;
  if (h.batch === true) header.batch = true;
  if (h.lease === true) header.lease = true;
  return header;
}

function decodeInvalidateHeader(frame: Buffer | undefined): InvalidateHeader {
  const h = decodeMap(frame);
  if (!isString(h.pod, 128)) throw new ProtocolError('INVALIDATE needs a pod');
  if (typeof h.seq !== 'number' || !Number.isSafeInteger(h.seq) || h.seq < 1)
    throw new ProtocolError('INVALIDATE needs a positive integer seq');
  return { pod: h.pod, seq: h.seq };
}

const brokerErrors = new Set<string>(Object.values(BrokerError));

const partKinds = new Set<string>(PART_KINDS);

function decodeReplyHeader(frame: Buffer | undefined): ReplyHeader {
  const h = decodeMap(frame);
  if (!isString(h.id, 128)) throw new ProtocolError('reply header needs an id');
  const header: ReplyHeader = { id: h.id };
  if (h.error !== undefined) {
    if (typeof h.error !== 'string' || !brokerErrors.has(h.error))
      throw new ProtocolError('unknown error code');
    header.error = h.error as BrokerErrorCode;
  }
  if (h.part !== undefined) {
    if (typeof h.part !== 'string' || !partKinds.has(h.part)) throw new ProtocolError('unknown part kind');
    header.part = h.part as PartKind;
  }
  if (header.part === 'credit') {
    const credit = h.credit;
    if (typeof credit !== 'number' || !Number.isInteger(credit) || credit < 1 || credit > 1_000_000) {
      throw new ProtocolError('a credit part needs an integer credit from 1 to 1000000');
    }
    header.credit = credit;
  }
  return header;
}

function decodeReadyHeader(frame: Buffer | undefined): ReadyHeader {
  const h = decodeMap(frame);
  const services = h.services;
  if (
    !Array.isArray(services) ||
    services.length === 0 ||
    services.length > 64 ||
    !services.every((s) => isString(s, 64))
  ) {
    throw new ProtocolError('READY needs a list of services');
  }
  const capacity = h.capacity;
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 100_000) {
    throw new ProtocolError('READY needs an integer capacity ≥ 1');
  }
  const transfers = h.transfers;
  if (
    transfers !== undefined &&
    (typeof transfers !== 'number' || !Number.isInteger(transfers) || transfers < 0 || transfers > 100_000)
  ) {
    throw new ProtocolError('READY transfers must be an integer from 0 to 100000');
  }
  return {
    services: services as string[],
    capacity,
    ...(transfers === undefined || transfers === 0 ? {} : { transfers }),
    ...(h.batch === true ? { batch: true } : {}),
  };
}

/** Decodes what a client (api, CLI) sends to the broker's frontend, or what the broker sends back. */
export function decodeClientMessage(frames: Buffer[]): ClientMessage {
  const command = readCommand(frames, CLIENT_PROTOCOL);
  switch (command) {
    case 'REQUEST':
      expectFrames(frames, 4, command);
      return { command, header: decodeRequestHeader(frames[2]), body: frames[3] as Buffer };
    case 'PARTIAL':
      expectFrames(frames, 4, command);
      return { command, header: decodeReplyHeader(frames[2]), body: frames[3] as Buffer };
    case 'FINAL': {
      if (frames.length !== 5) expectFrames(frames, 4, command);
      const message: Extract<ClientMessage, { command: 'FINAL' }> = {
        command,
        header: decodeReplyHeader(frames[2]),
        body: frames[3] as Buffer,
      };
      const lease = frames[4];
      if (lease !== undefined) {
        if (lease.length !== 4) throw new ProtocolError('a lease frame is 4 bytes');
        message.leaseMs = lease.readUInt32BE(0);
      }
      return message;
    }
    case 'INVALIDATE':
      expectFrames(frames, 3, command);
      return { command, header: decodeInvalidateHeader(frames[2]) };
    default:
      throw new ProtocolError(
        command === 'BATCH'
          ? 'a BATCH is split before it is decoded, and holds no BATCH'
          : `${command} is not a client command`,
      );
  }
}

/** A reply the broker sent a client (PARTIAL or FINAL); anything else is a ProtocolError. */
export function decodeClientReply(
  frames: Buffer[],
): Extract<ClientMessage, { command: 'PARTIAL' | 'FINAL' }> {
  const message = decodeClientMessage(frames);
  if (message.command !== 'PARTIAL' && message.command !== 'FINAL')
    throw new ProtocolError(`${message.command} is not a reply`);
  return message;
}

/** Decodes what a worker sends to the broker's backend, or what the broker sends to a worker. */
export function decodeWorkerMessage(frames: Buffer[]): WorkerMessage {
  const command = readCommand(frames, WORKER_PROTOCOL);
  switch (command) {
    case 'READY':
      expectFrames(frames, 3, command);
      return { command, header: decodeReadyHeader(frames[2]) };
    case 'REQUEST': {
      if (frames.length !== 6) expectFrames(frames, 5, command);
      const message: Extract<WorkerMessage, { command: 'REQUEST' }> = {
        command,
        client: frames[2] as Buffer,
        header: decodeRequestHeader(frames[3]),
        body: frames[4] as Buffer,
      };
      if (frames.length === 6) {
        const placement = decodePlacement(frames[5] as Buffer);
        if (placement === undefined) throw new ProtocolError('malformed placement frame');
        message.placement = placement;
      }
      return message;
    }
    case 'PARTIAL':
    case 'FINAL':
      expectFrames(frames, 5, command);
      return {
        command,
        client: frames[2] as Buffer,
        header: decodeReplyHeader(frames[3]),
        body: frames[4] as Buffer,
      };
    case 'HEARTBEAT':
    case 'DISCONNECT':
      expectFrames(frames, 2, command);
      return { command };
    case 'BATCH':
      throw new ProtocolError('a BATCH is split before it is decoded, and holds no BATCH');
    case 'INVALIDATE':
      throw new ProtocolError('INVALIDATE is not a worker command');
  }
}

// ---------------------------------------------------------------------------------------------- batches

/** Most messages one BATCH carries. */
export const MAX_BATCH_MESSAGES = 1024;
/** Most bytes one BATCH frame holds; a peer bundles only messages far smaller than this. */
export const MAX_BATCH_BYTES = 64 * 1024;

/**
 * Bundles small messages of one protocol, each `[protocol, command, ...frames]`, into one BATCH message
 * of three frames: `[protocol, BATCH, packed]`. `packed` holds the messages one after the other, each as
 * one byte (its frame count after the protocol frame, 1 to 255) and then, per frame, its length (uint32,
 * big-endian) and its bytes. One ZeroMQ message of one frame instead of several messages of four or five
 * frames each: one native send, one receive, one slot of the high-water mark, one buffer. The caller keeps
 * a batch within MAX_BATCH_MESSAGES and MAX_BATCH_BYTES (large bodies go alone, uncopied).
 */
export function encodeBatch(messages: readonly (readonly Buffer[])[]): Buffer[] {
  const first = messages[0];
  if (first === undefined || messages.length > MAX_BATCH_MESSAGES) {
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH_MESSAGES} messages`);
  }
  let size = 0;
  for (const message of messages) {
    if (message.length < 2 || message.length > 256)
      throw new RangeError('a batched message has 2 to 256 frames');
    size += 1;
    for (let f = 1; f < message.length; f++) size += 4 + (message[f] as Buffer).length;
  }
  if (size > MAX_BATCH_BYTES) throw new RangeError(`a batch holds at most ${MAX_BATCH_BYTES} bytes`);
  const packed = Buffer.allocUnsafe(size);
  let at = 0;
  for (const message of messages) {
    packed[at++] = message.length - 1;
    for (let f = 1; f < message.length; f++) {
      const frame = message[f] as Buffer;
      packed.writeUInt32BE(frame.length, at);
      at += 4;
      at += frame.copy(packed, at);
    }
  }
  return [first[0] as Buffer, COMMAND_FRAME.BATCH, packed];
}

/** True when `frames` is a BATCH (of any protocol): split it with `splitBatch`. */
export function isBatch(frames: readonly Buffer[]): boolean {
  const cmd = frames[1];
  return cmd !== undefined && cmd.length === 1 && cmd[0] === Command.BATCH;
}

/**
 * The messages of a BATCH, each `[protocol, command, ...frames]` as if it had come alone (its frames are
 * views of the batch's buffer, not copies): decode each with decodeClientMessage or decodeWorkerMessage
 * (a message that does not follow the protocol fails alone). Throws ProtocolError when the batch itself
 * is malformed (wrong protocol, lengths that run past its end, no message, too many); nothing of it is
 * then used.
 */
export function splitBatch(frames: readonly Buffer[], protocol: Protocol): Buffer[][] {
  const [proto, cmd, packed] = frames;
  if (proto === undefined || !proto.equals(PROTOCOL_FRAME[protocol])) {
    throw new ProtocolError('batch of an unknown protocol or version');
  }
  if (cmd === undefined || cmd.length !== 1 || cmd[0] !== Command.BATCH)
    throw new ProtocolError('not a batch');
  if (frames.length !== 3 || packed === undefined || packed.length === 0 || packed.length > MAX_BATCH_BYTES) {
    throw new ProtocolError(`a batch is one frame of 1 to ${MAX_BATCH_BYTES} bytes`);
  }
  const messages: Buffer[][] = [];
  let at = 0;
  while (at < packed.length) {
    if (messages.length === MAX_BATCH_MESSAGES) {
      throw new ProtocolError(`a batch holds at most ${MAX_BATCH_MESSAGES} messages`);
    }
    const count = packed[at++] as number;
    if (count === 0) throw new ProtocolError('a batched message has no frames');
    const message: Buffer[] = [proto];
    for (let f = 0; f < count; f++) {
      if (at + 4 > packed.length) throw new ProtocolError('batch ends inside a frame length');
      const length = packed.readUInt32BE(at);
      at += 4;
      if (length > packed.length - at) throw new ProtocolError('batch ends inside a frame');
      message.push(packed.subarray(at, at + length));
      at += length;
    }
    messages.push(message);
  }
  return messages;
}
