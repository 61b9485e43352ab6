/**
 * Sends on one ZeroMQ socket for many callers, a turn of the event loop at a time.
 *
 * zeromq.js allows one send in progress per socket, and each send is a native call with a promise, an
 * events check and a wake-up of ZeroMQ's I/O thread: sent one by one, messages cost far more than their
 * bytes. So callers only queue (`post`, `send`); once per turn (after every message that was readable has
 * been handled), the writer sends what is queued, per peer, in order: several messages to a peer that
 * reads BATCH go as one BATCH message of one frame (protocol/frames.ts), the others one by one.
 *
 * A send that fails (peer gone with ROUTER_MANDATORY, peer at its high-water mark, socket closed, send
 * timeout) fails exactly the messages it carried: their `send` promises reject, and `onFailure` gets
 * their tags (the broker learns which dispatches never reached a worker).
 */
import { encodeBatch, MAX_BATCH_BYTES, MAX_BATCH_MESSAGES } from '../protocol/frames.ts';

export interface Sendable {
  send(frames: Buffer[]): Promise<void>;
  /** ZeroMQ's ZMQ_SNDTIMEO: 0 on the sockets this writer drives (see `waitMs`). */
  sendTimeout: number;
  readonly closed: boolean;
}

export interface SocketWriterOptions<Tag> {
  /** A ROUTER: frame 0 of every message is the peer's routing id, and stays in front of a batch. */
  routed?: boolean;
  /** Whether this peer (undefined on a DEALER: the one peer) reads BATCH messages. Default: none does. */
  batches?: (peer: Buffer | undefined) => boolean;
  /** A send failed: the tags of the messages it carried (those posted with one). */
  onFailure?: (peer: Buffer | undefined, err: unknown, tags: Tag[], messages: number) => void;
  /**
   * How long a send may wait while the peer's queue is at the high-water mark (a DEALER); undefined: it
   * fails at once (a ROUTER, which never waits). The socket's `sendTimeout` must be 0: zeromq.js then sends
   * at once, where any other value costs an events check per send and, after 512 sends without a poll,
   * a turn of the event loop per send. Only a send that finds the queue full is retried with this timeout.
   */
  waitMs?: number;
}

interface Queued<Tag> {
  frames: Buffer[];
  tag: Tag | undefined;
  resolve: (() => void) | undefined;
  reject: ((err: unknown) => void) | undefined;
}

/** What did not go to one peer in one flush. */
interface Failed<Tag> {
  err: unknown;
  tags: Tag[];
  messages: number;
}

interface PeerQueue<Tag> {
  peer: Buffer | undefined;
  items: Queued<Tag>[];
}

/**
 * Messages up to this size (their frames after the routing id) are bundled; larger ones (parts of
 * transfers) go alone, their bodies uncopied. Bundled bytes are copied once, into the batch's buffer.
 */
export const BATCHED_MESSAGE_BYTES = 8 * 1024;
const none = () => false;

export class SocketWriter<Tag = never> {
  #queues = new Map<string, PeerQueue<Tag>>();
  #scheduled = false;
  #writing: Promise<void> = Promise.resolve();
  readonly #routed: boolean;
  readonly #batches: (peer: Buffer | undefined) => boolean;

  constructor(
    private readonly socket: Sendable,
    private readonly options: SocketWriterOptions<Tag> = {},
  ) {
    this.#routed = options.routed === true;
    this.#batches = options.batches ?? none;
  }

  /** Queues a message; a failure reaches only `onFailure` (with `tag`). */
  post(frames: Buffer[], tag?: Tag): void {
    this.#enqueue({ frames, tag, resolve: undefined, reject: undefined });
  }

  /** Queues a message; resolves once ZeroMQ took it, rejects if its send failed. */
  send(frames: Buffer[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#enqueue({ frames, tag: undefined, resolve, reject }));
  }

  #enqueue(item: Queued<Tag>): void {
    const peer = this.#routed ? item.frames[0] : undefined;
    const key = peer === undefined ? '' : peer.toString('latin1');
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { peer, items: [] };
      this.#queues.set(key, queue);
    }
    queue.items.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const queues = this.#queues;
    this.#queues = new Map();
    // #write settles every message it takes; nothing it does may stop the writes after it.
    this.#writing = this.#writing.then(() => this.#write(queues)).catch(() => undefined);
  };

  async #write(queues: Map<string, PeerQueue<Tag>>): Promise<void> {
    for (const { peer, items } of queues.values()) {
      const failed: Failed<Tag> = { err: undefined, tags: [], messages: 0 };
      await this.#writePeer(peer, items, failed);
      // One report per peer and flush, with every message that did not go: when the peer is gone, its
      // later sends of this flush fail too, and the broker must learn of all their dispatches at once.
      if (failed.messages > 0) this.options.onFailure?.(peer, failed.err, failed.tags, failed.messages);
    }
  }

  async #writePeer(peer: Buffer | undefined, items: Queued<Tag>[], failed: Failed<Tag>): Promise<void> {
    const skip = this.#routed ? 1 : 0;
    if (items.length === 1 || !this.#batches(peer)) {
      for (const item of items) await this.#sendItems(item.frames, [item], failed);
      return;
    }
    // In order: runs of small messages as batches, each large one alone between them.
    let run: Queued<Tag>[] = [];
    let runBytes = 0;
    const sendRun = async () => {
      const chunk = run;
      run = [];
      runBytes = 0;
      if (chunk.length === 1) {
        await this.#sendItems((chunk[0] as Queued<Tag>).frames, chunk, failed);
      } else if (chunk.length > 1) {
        let batch: Buffer[] | undefined;
        try {
          batch = encodeBatch(chunk.map((item) => (skip === 0 ? item.frames : item.frames.slice(skip))));
        } catch {
          batch = undefined; // a message the batch format cannot hold: each goes alone, as it is
        }
        if (batch === undefined) {
          for (const item of chunk) await this.#sendItems(item.frames, [item], failed);
        } else {
          await this.#sendItems(peer === undefined ? batch : [peer, ...batch], chunk, failed);
        }
      }
    };
    for (const item of items) {
      const bytes = packedSizeOf(item.frames, skip);
      if (bytes > BATCHED_MESSAGE_BYTES || item.frames.length - skip > 256) {
        await sendRun();
        await this.#sendItems(item.frames, [item], failed);
        continue;
      }
      if (runBytes + bytes > MAX_BATCH_BYTES || run.length === MAX_BATCH_MESSAGES) await sendRun();
      run.push(item);
      runBytes += bytes;
    }
    await sendRun();
  }

  async #sendItems(frames: Buffer[], items: Queued<Tag>[], failed: Failed<Tag>): Promise<void> {
    try {
      await this.#sendNow(frames);
    } catch (err) {
      if (failed.messages === 0) failed.err = err;
      failed.messages += items.length;
      for (const item of items) {
        if (item.tag !== undefined) failed.tags.push(item.tag);
        item.reject?.(err);
      }
      return;
    }
    for (const item of items) item.resolve?.();
  }

  async #sendNow(frames: Buffer[]): Promise<void> {
    try {
      await this.socket.send(frames);
      return;
    } catch (err) {
      const waitMs = this.options.waitMs;
      if (waitMs === undefined || waitMs <= 0 || !isQueueFull(err) || this.socket.closed) throw err;
    }
    // The peer's queue is full: wait for room, at most waitMs (ZeroMQ polls; nothing else is sent meanwhile).
    this.socket.sendTimeout = this.options.waitMs as number;
    try {
      await this.socket.send(frames);
    } finally {
      if (!this.socket.closed) this.socket.sendTimeout = 0;
    }
  }
}

function isQueueFull(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 'EAGAIN';
}

/** What a message takes in a batch (frames.ts): a count byte, then a length and the bytes per frame. */
function packedSizeOf(frames: Buffer[], skip: number): number {
  let bytes = 1;
  for (let f = skip + 1; f < frames.length; f++) bytes += 4 + (frames[f] as Buffer).length;
  return bytes;
}
