import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  decodeClientMessage,
  encodeClientReply,
  encodeClientRequest,
  isBatch,
  type RequestHeader,
  splitBatch,
} from '../../protocol/frames.ts';
import { BATCHED_MESSAGE_BYTES, type Sendable, SocketWriter } from '../../runtime/socket-writer.ts';

/** A socket that records what is sent; `fail` makes the sends it matches reject like ZeroMQ does. */
class RecordingSocket implements Sendable {
  sent: Buffer[][] = [];
  sendTimeout = 0;
  closed = false;
  /** Timeouts the sends ran with. */
  timeouts: number[] = [];
  fail: ((frames: Buffer[]) => string | undefined) | undefined;

  async send(frames: Buffer[]): Promise<void> {
    this.timeouts.push(this.sendTimeout);
    const code = this.fail?.(frames);
    if (code !== undefined) throw Object.assign(new Error(code), { code });
    this.sent.push(frames);
  }
}

const header = (id: string): RequestHeader => ({
  id,
  service: 'users',
  command: 'users.get',
  deadline: 1_900_000_000_000,
  idempotent: true,
  requestId: id,
});
const request = (id: string, body = Buffer.from(`body-${id}`)) => encodeClientRequest(header(id), body);
/** The ids of the requests a recorded send carried, whether batched or alone. */
const idsOf = (frames: Buffer[], skip = 0): string[] => {
  const message = frames.slice(skip);
  const messages = isBatch(message) ? splitBatch(message, 'PSC1') : [message];
  return messages.map((m) => (decodeClientMessage(m).header as { id: string }).id);
};

describe('SocketWriter', () => {
  it('sends what one turn queued to a batching peer as one message, in order', async () => {
    const socket = new RecordingSocket();
    const writer = new SocketWriter(socket, { batches: () => true });
    const done = ['a', 'b', 'c'].map((id) => writer.send(request(id)));
    expect(socket.sent).toHaveLength(0); // nothing goes out within the turn
    await Promise.all(done);
    expect(socket.sent).toHaveLength(1);
    expect(idsOf(socket.sent[0] as Buffer[])).toEqual(['a', 'b', 'c']);
    // The next turn makes a send of its own.
    await writer.send(request('d'));
    expect(socket.sent.map((f) => idsOf(f))).toEqual([['a', 'b', 'c'], ['d']]);
    expect(isBatch(socket.sent[1] as Buffer[])).toBe(false); // one message goes plain
  });

  it('sends one by one to a peer that does not read batches', async () => {
    const socket = new RecordingSocket();
    const writer = new SocketWriter(socket);
    await Promise.all(['a', 'b'].map((id) => writer.send(request(id))));
    expect(socket.sent.map((f) => isBatch(f))).toEqual([false, false]);
    expect(socket.sent.map((f) => idsOf(f))).toEqual([['a'], ['b']]);
  });

  it('on a ROUTER, batches per peer and keeps the routing id in front', async () => {
    const socket = new RecordingSocket();
    const p1 = Buffer.from('peer-1');
    const p2 = Buffer.from('peer-2');
    const writer = new SocketWriter(socket, { routed: true, batches: (peer) => peer?.equals(p1) === true });
    writer.post([p1, ...request('a')]);
    writer.post([p2, ...request('b')]);
    writer.post([p1, ...request('c')]);
    writer.post([p2, ...request('d')]);
    await turn();
    await turn();
    const byPeer = socket.sent.map((f) => [(f[0] as Buffer).toString(), idsOf(f, 1)]);
    expect(byPeer).toEqual([
      ['peer-1', ['a', 'c']],
      ['peer-2', ['b']],
      ['peer-2', ['d']],
    ]);
  });

  it('sends a large message alone, uncopied, between batches, keeping the order', async () => {
    const socket = new RecordingSocket();
    const writer = new SocketWriter(socket, { batches: () => true });
    const large = Buffer.alloc(BATCHED_MESSAGE_BYTES + 1, 7);
    await Promise.all([
      writer.send(request('a')),
      writer.send(request('b')),
      writer.send(request('big', large)),
      writer.send(request('c')),
    ]);
    expect(socket.sent.map((f) => idsOf(f))).toEqual([['a', 'b'], ['big'], ['c']]);
    expect((socket.sent[1] as Buffer[])[3]).toBe(large);
  });

  it('fails exactly the messages a failed send carried, and reports their tags once', async () => {
    const socket = new RecordingSocket();
    const failures: { peer: string; tags: string[]; messages: number }[] = [];
    const gone = Buffer.from('gone');
    const writer = new SocketWriter<string>(socket, {
      routed: true,
      batches: () => true,
      onFailure: (peer, _err, tags, messages) => failures.push({ peer: String(peer), tags, messages }),
    });
    socket.fail = (frames) => ((frames[0] as Buffer).equals(gone) ? 'EHOSTUNREACH' : undefined);
    writer.post([gone, ...request('x')], 'key-x');
    writer.post([gone, ...request('y')], 'key-y');
    writer.post([gone, ...encodeClientReply('FINAL', { id: 'z' })]);
    writer.post([Buffer.from('alive'), ...request('w')], 'key-w');
    await turn();
    await turn();
    expect(failures).toEqual([{ peer: 'gone', tags: ['key-x', 'key-y'], messages: 3 }]);
    expect(socket.sent.map((f) => idsOf(f, 1))).toEqual([['w']]);
    const rejected = writer.send([gone, ...request('v')]);
    await expect(rejected).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
  });

  it('reports every message that did not go to a peer in one flush at once, over several sends', async () => {
    const socket = new RecordingSocket();
    const reports: { tags: string[]; messages: number }[] = [];
    const gone = Buffer.from('gone');
    const writer = new SocketWriter<string>(socket, {
      routed: true,
      batches: () => true,
      onFailure: (_peer, _err, tags, messages) => reports.push({ tags, messages }),
    });
    socket.fail = () => 'EHOSTUNREACH';
    writer.post([gone, ...request('a')], 'key-a');
    writer.post([gone, ...request('large', Buffer.alloc(BATCHED_MESSAGE_BYTES + 1))], 'key-large');
    writer.post([gone, ...request('b')], 'key-b');
    await turn();
    await turn();
    expect(socket.timeouts).toHaveLength(3); // three sends tried: a, the large one, b
    expect(reports).toEqual([{ tags: ['key-a', 'key-large', 'key-b'], messages: 3 }]);
  });

  it('waits for room only after finding the queue full, with the wait it was given', async () => {
    const socket = new RecordingSocket();
    const writer = new SocketWriter(socket, { waitMs: 3000 });
    let full = true;
    socket.fail = () => {
      if (!full) return undefined;
      full = false;
      return 'EAGAIN';
    };
    await writer.send(request('a'));
    expect(socket.timeouts).toEqual([0, 3000]);
    expect(socket.sendTimeout).toBe(0);
    expect(socket.sent.map((f) => idsOf(f))).toEqual([['a']]);
    // Without a wait (a ROUTER), a full queue fails the send at once.
    const router = new RecordingSocket();
    router.fail = () => 'EAGAIN';
    await expect(new SocketWriter(router).send(request('b'))).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(router.timeouts).toEqual([0]);
  });

  it('sends a message the batch format cannot hold alone, and keeps writing after it', async () => {
    const socket = new RecordingSocket();
    const writer = new SocketWriter(socket, { batches: () => true });
    const odd = [Buffer.from('PSC1')]; // one frame: not a protocol message, but the socket takes it
    await Promise.all([writer.send(request('a')), writer.send(odd), writer.send(request('b'))]);
    expect(socket.sent).toEqual([request('a'), odd, request('b')].map((m) => m));
    await writer.send(request('c'));
    expect(socket.sent).toHaveLength(4);
  });
});
