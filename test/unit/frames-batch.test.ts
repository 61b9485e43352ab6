import { describe, expect, it } from 'vitest';
import {
  decodeClientMessage,
  decodeWorkerMessage,
  encodeBatch,
  encodeClientReply,
  encodeClientRequest,
  encodeWorkerReply,
  encodeWorkerSignal,
  isBatch,
  MAX_BATCH_BYTES,
  ProtocolError,
  type RequestHeader,
  splitBatch,
} from '../../protocol/frames.ts';

const header = (id: string): RequestHeader => ({
  id,
  service: 'users',
  command: 'users.get',
  deadline: 1_900_000_000_000,
  idempotent: true,
  requestId: `req-${id}`,
});

describe('BATCH frames', () => {
  it('carries several messages in one frame and gives each back as it came alone, in order', () => {
    const messages = [
      encodeClientRequest(header('a'), Buffer.from('body-a')),
      encodeClientReply('PARTIAL', { id: 'b', part: 'credit', credit: 4 }),
      encodeClientRequest(header('c'), Buffer.alloc(0)),
    ];
    const batch = encodeBatch(messages);
    expect(batch).toHaveLength(3);
    expect(isBatch(batch)).toBe(true);
    expect(isBatch(messages[0] as Buffer[])).toBe(false);
    const split = splitBatch(batch, 'PSC1');
    expect(split.map((m) => decodeClientMessage(m))).toEqual(messages.map((m) => decodeClientMessage(m)));
  });

  it('works for the worker side, with five-frame messages and signals', () => {
    const client = Buffer.from([0, 1, 2, 3, 4]);
    const messages = [
      encodeWorkerReply('FINAL', client, { id: 'x' }, Buffer.from('reply')),
      encodeWorkerSignal('HEARTBEAT'),
    ];
    const split = splitBatch(encodeBatch(messages), 'PSW1');
    expect(split.map((m) => decodeWorkerMessage(m))).toEqual([
      { command: 'FINAL', client, header: { id: 'x' }, body: Buffer.from('reply') },
      { command: 'HEARTBEAT' },
    ]);
  });

  it('refuses to build a batch larger than a peer accepts', () => {
    const big = encodeClientRequest(header('a'), Buffer.alloc(MAX_BATCH_BYTES));
    expect(() => encodeBatch([big, big])).toThrow(RangeError);
    expect(() => encodeBatch([])).toThrow(RangeError);
  });

  it('rejects malformed batches as a whole', () => {
    const good = encodeBatch([
      encodeClientRequest(header('a'), Buffer.from('x')),
      encodeClientRequest(header('b'), Buffer.from('y')),
    ]);
    const packed = good[2] as Buffer;
    const variants: Buffer[][] = [
      [Buffer.from('PSW1'), good[1] as Buffer, packed], // the other protocol
      [good[0] as Buffer, good[1] as Buffer], // no packed frame
      [good[0] as Buffer, good[1] as Buffer, Buffer.alloc(0)], // no message
      [good[0] as Buffer, good[1] as Buffer, packed, Buffer.from('extra')], // a frame too many
      [good[0] as Buffer, good[1] as Buffer, packed.subarray(0, packed.length - 1)], // cut inside a frame
      [good[0] as Buffer, good[1] as Buffer, packed.subarray(0, 3)], // cut inside a length
      [good[0] as Buffer, good[1] as Buffer, Buffer.concat([packed, Buffer.of(0)])], // a message of no frames
      [good[0] as Buffer, good[1] as Buffer, Buffer.from([1, 0xff, 0xff, 0xff, 0xff, 1])], // a huge length
      [good[0] as Buffer, good[1] as Buffer, Buffer.alloc(MAX_BATCH_BYTES + 1, 1)], // too large
    ];
    for (const frames of variants) expect(() => splitBatch(frames, 'PSC1')).toThrow(ProtocolError);
    // Too many messages: 1025 messages of one empty frame each.
    const many = Buffer.alloc(1025 * 5);
    for (let i = 0; i < 1025; i++) many[i * 5] = 1;
    expect(() => splitBatch([good[0] as Buffer, good[1] as Buffer, many], 'PSC1')).toThrow(ProtocolError);
  });

  it('lets a bad message inside a good batch fail alone, and never nests batches', () => {
    const inner = encodeBatch([encodeWorkerSignal('HEARTBEAT'), encodeWorkerSignal('HEARTBEAT')]);
    const batch = encodeBatch([
      [Buffer.from('PSC1'), Buffer.of(0x02), Buffer.from('not msgpack \xc1'), Buffer.alloc(0)],
      inner.map((f, i) => (i === 0 ? Buffer.from('PSC1') : f)),
      encodeClientRequest(header('ok'), Buffer.from('z')),
    ]);
    const [bad, nested, ok] = splitBatch(batch, 'PSC1') as Buffer[][];
    expect(() => decodeClientMessage(bad as Buffer[])).toThrow(ProtocolError);
    expect(() => decodeClientMessage(nested as Buffer[])).toThrow(ProtocolError);
    expect(decodeClientMessage(ok as Buffer[]).header).toMatchObject({ id: 'ok' });
  });

  it('carries the batching capability in READY and in request headers, and nothing else', () => {
    expect(
      decodeClientMessage(encodeClientRequest({ ...header('s'), batch: true }, Buffer.alloc(0))).header,
    ).toMatchObject({
      batch: true,
    });
    const notTrue = encodeClientRequest(
      { ...header('s'), batch: 'yes' as unknown as boolean },
      Buffer.alloc(0),
    );
    expect(decodeClientMessage(notTrue).header).not.toHaveProperty('batch');
  });
});
