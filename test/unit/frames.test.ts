import { describe, expect, it } from 'vitest';
import { pack } from '../../protocol/codec.ts';
import {
  decodeClientMessage,
  decodeWorkerMessage,
  encodeClientReply,
  encodeClientRequest,
  encodeWorkerReady,
  encodeWorkerReply,
  encodeWorkerSignal,
  ProtocolError,
  type RequestHeader,
} from '../../protocol/frames.ts';

const header: RequestHeader = {
  id: 'a1',
  service: 'users',
  command: 'users.get',
  deadline: 1_900_000_000_000,
  idempotent: true,
  requestId: 'req-1',
};

describe('frames', () => {
  it('round-trips a client request and a broker error reply', () => {
    const body = Buffer.from([1, 2, 3]);
    expect(decodeClientMessage(encodeClientRequest(header, body))).toEqual({
      command: 'REQUEST',
      header,
      body,
    });
    const reply = decodeClientMessage(encodeClientReply('FINAL', { id: 'a1', error: 'overloaded' }));
    expect(reply).toEqual({
      command: 'FINAL',
      header: { id: 'a1', error: 'overloaded' },
      body: Buffer.alloc(0),
    });
  });

  it('round-trips every worker message', () => {
    const client = Buffer.from('client-identity');
    expect(decodeWorkerMessage(encodeWorkerReady({ services: ['users'], capacity: 8 }))).toEqual({
      command: 'READY',
      header: { services: ['users'], capacity: 8 },
    });
    expect(decodeWorkerMessage(encodeWorkerReply('PARTIAL', client, { id: 'x' }, Buffer.from('b')))).toEqual({
      command: 'PARTIAL',
      client,
      header: { id: 'x' },
      body: Buffer.from('b'),
    });
    expect(decodeWorkerMessage(encodeWorkerSignal('HEARTBEAT'))).toEqual({ command: 'HEARTBEAT' });
    expect(decodeWorkerMessage(encodeWorkerSignal('DISCONNECT'))).toEqual({ command: 'DISCONNECT' });
  });

  const bad: [string, Buffer[]][] = [
    ['empty message', []],
    ['protocol only', [Buffer.from('PSC1')]],
    ['wrong version', [Buffer.from('PSC9'), Buffer.of(2), pack(header), Buffer.alloc(0)]],
    ['worker protocol on client side', [Buffer.from('PSW1'), Buffer.of(2), pack(header), Buffer.alloc(0)]],
    ['unknown command', [Buffer.from('PSC1'), Buffer.of(0x7f), pack(header), Buffer.alloc(0)]],
    ['two-byte command', [Buffer.from('PSC1'), Buffer.of(2, 2), pack(header), Buffer.alloc(0)]],
    ['truncated request', [Buffer.from('PSC1'), Buffer.of(2), pack(header)]],
    ['header not msgpack', [Buffer.from('PSC1'), Buffer.of(2), Buffer.from([0xc1]), Buffer.alloc(0)]],
    ['header not a map', [Buffer.from('PSC1'), Buffer.of(2), pack([1, 2]), Buffer.alloc(0)]],
    [
      'header without deadline',
      [Buffer.from('PSC1'), Buffer.of(2), pack({ ...header, deadline: 'soon' }), Buffer.alloc(0)],
    ],
    ['READY from a client', [Buffer.from('PSC1'), Buffer.of(1), pack({ services: ['x'], capacity: 1 })]],
    [
      'unknown broker error',
      [Buffer.from('PSC1'), Buffer.of(4), pack({ id: 'a', error: 'nope' }), Buffer.alloc(0)],
    ],
  ];
  it.each(bad)('rejects a client message: %s', (_name, frames) => {
    expect(() => decodeClientMessage(frames)).toThrow(ProtocolError);
  });

  it.each([
    ['READY without services', [Buffer.from('PSW1'), Buffer.of(1), pack({ services: [], capacity: 1 })]],
    [
      'READY with capacity 0',
      [Buffer.from('PSW1'), Buffer.of(1), pack({ services: ['users'], capacity: 0 })],
    ],
    ['HEARTBEAT with extra frames', [Buffer.from('PSW1'), Buffer.of(5), Buffer.from('x')]],
    ['FINAL without client frame', [Buffer.from('PSW1'), Buffer.of(4), pack({ id: 'a' }), Buffer.alloc(0)]],
  ])('rejects a worker message: %s', (_name, frames) => {
    expect(() => decodeWorkerMessage(frames)).toThrow(ProtocolError);
  });

  it('never throws anything but ProtocolError on random frames', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const frames = Array.from({ length: Math.floor(random() * 6) }, (_, j) => {
        if (j === 0 && random() < 0.7) return Buffer.from(random() < 0.5 ? 'PSC1' : 'PSW1');
        if (j === 1 && random() < 0.7) return Buffer.of(Math.floor(random() * 8));
        return Buffer.from(
          Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)),
        );
      });
      for (const decode of [decodeClientMessage, decodeWorkerMessage]) {
        try {
          decode(frames);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }
    }
  });
});
