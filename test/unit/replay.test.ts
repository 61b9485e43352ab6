/**
 * What the api does when the worker serving a transfer dies before answering: a small upload body is
 * sent again to another worker, a download not yet begun is opened again; neither when it cannot be
 * done safely (a body too large to keep, a POST without an Idempotency-Key, bytes already sent).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BrokerCallError } from '../../api/broker-client.ts';
import { BrokerStream } from '../../api/files/broker-stream.ts';
import { startDownload } from '../../api/files/download-start.ts';
import { ReplayableBody } from '../../api/files/replayable-body.ts';
import { uploadWithReplay } from '../../api/files/replayed-upload.ts';
import { pack } from '../../protocol/codec.ts';

const drain = async (reader: { next(): Promise<IteratorResult<Buffer>> }) => {
  const chunks: Buffer[] = [];
  for (let r = await reader.next(); !r.done; r = await reader.next()) chunks.push(r.value);
  return Buffer.concat(chunks).toString();
};

describe('ReplayableBody', () => {
  it('gives a second reader the same bytes while the body is within the limit', async () => {
    const source = new PassThrough();
    source.end('hello world');
    const body = new ReplayableBody(source, 1024);
    expect(await drain(body.reader())).toBe('hello world');
    expect(body.replayable).toBe(true);
    expect(await drain(body.reader())).toBe('hello world');
  });

  it('keeps a chunk that arrived after its reader stopped waiting', async () => {
    const source = new PassThrough();
    const body = new ReplayableBody(source, 1024);
    const first = body.reader();
    const pending = first.next(); // nothing yet; the reader gives up on this (its worker died)
    source.end('late');
    await pending;
    expect(await drain(body.reader())).toBe('late');
  });

  it('streams a body past the limit once and then refuses a second reader', async () => {
    const source = new PassThrough();
    const body = new ReplayableBody(source, 4);
    source.end('more than four bytes');
    expect(await drain(body.reader())).toBe('more than four bytes');
    expect(body.replayable).toBe(false);
    expect(() => body.reader()).toThrow(/too large/);
  });
});

/** A worker played by the test: grants credit, collects data, then answers or dies. */
function playedStream(behaviour: 'dies' | 'stores' | 'key_held', received: string[]) {
  let stream!: BrokerStream;
  stream = new BrokerStream(async (_final, part, body) => {
    if (part === 'data' && body !== undefined) received.push(body.toString());
    if (part !== 'end') return;
    setImmediate(() => {
      if (behaviour === 'dies') stream.finish(new BrokerCallError('worker_lost'));
      else if (behaviour === 'key_held')
        stream.finish({ ok: false, error: { code: 'conflict', detail: 'held', retryAfterS: 1 } });
      else stream.finish({ ok: true, value: { stored: received.join('') } });
    });
  });
  setImmediate(() => stream.deliver({ part: 'credit', credit: 16, body: Buffer.alloc(0) }));
  return stream;
}

describe('uploadWithReplay', () => {
  const options = { maxBytes: 1 << 20, chunkBytes: 4, maxAttempts: 4, maxWaitMs: 5000 };

  it('sends a kept body again to the next worker when the first dies', async () => {
    const source = new PassThrough();
    source.end('abcdefgh');
    const plan: ('dies' | 'stores')[] = ['dies', 'stores'];
    const received: string[][] = [];
    const replays: string[] = [];
    const { stream, complete } = await uploadWithReplay(
      () => {
        const got: string[] = [];
        received.push(got);
        return playedStream(plan.shift() ?? 'stores', got);
      },
      new ReplayableBody(source, 1024),
      { ...options, onReplay: (reason) => replays.push(reason) },
    );
    expect(complete).toBe(true);
    expect(await stream.result).toEqual({ ok: true, value: { stored: 'abcdefgh' } });
    expect(received.map((r) => r.join(''))).toEqual(['abcdefgh', 'abcdefgh']);
    expect(replays).toEqual(['worker_lost']);
  });

  it('waits out a key still held by the dead worker, then sends again', async () => {
    const source = new PassThrough();
    source.end('post');
    const plan: ('dies' | 'stores' | 'key_held')[] = ['dies', 'key_held', 'stores'];
    const replays: string[] = [];
    const t0 = Date.now();
    const { stream } = await uploadWithReplay(
      () => playedStream(plan.shift() ?? 'stores', []),
      new ReplayableBody(source, 1024),
      { ...options, onReplay: (reason) => replays.push(reason) },
    );
    expect(await stream.result).toMatchObject({ ok: true });
    expect(replays).toEqual(['worker_lost', 'key_held']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
  });

  it('bounds waits for a held key by time, not by the sends left for lost workers', async () => {
    const source = new PassThrough();
    source.end('post');
    // More held-key answers than maxAttempts allows sends: the lease runs out within maxWaitMs.
    const plan: ('dies' | 'stores' | 'key_held')[] = ['dies', 'key_held', 'key_held', 'key_held', 'stores'];
    const replays: string[] = [];
    const { stream } = await uploadWithReplay(
      () => playedStream(plan.shift() ?? 'stores', []),
      new ReplayableBody(source, 1024),
      { ...options, onReplay: (reason) => replays.push(reason) },
    );
    expect(await stream.result).toMatchObject({ ok: true });
    expect(replays).toEqual(['worker_lost', 'key_held', 'key_held', 'key_held']);
  });

  it('answers the first 409 as it is: another request holds the key', async () => {
    const source = new PassThrough();
    source.end('post');
    let opened = 0;
    const { stream } = await uploadWithReplay(
      () => {
        opened++;
        return playedStream('key_held', []);
      },
      new ReplayableBody(source, 1024),
      options,
    );
    expect(await stream.result).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(opened).toBe(1);
  });

  it('does not send again a body that could not be kept', async () => {
    const source = new PassThrough();
    source.end('larger than the limit');
    let opened = 0;
    const { stream } = await uploadWithReplay(
      () => {
        opened++;
        return playedStream('dies', []);
      },
      new ReplayableBody(source, 0),
      options,
    );
    await expect(stream.result).rejects.toMatchObject({ code: 'worker_lost' });
    expect(opened).toBe(1);
  });
});

describe('startDownload', () => {
  const meta = (size: number) =>
    ({ part: 'meta', body: pack({ status: 200, start: 0, end: size - 1, info: { size } }) }) as const;

  it('opens the download again when its worker dies before the response began', async () => {
    let opened = 0;
    const started = await startDownload(() => {
      opened++;
      const stream = new BrokerStream(async () => undefined);
      if (opened === 1) {
        stream.deliver(meta(8));
        setImmediate(() => stream.finish(new BrokerCallError('worker_lost')));
      } else {
        stream.deliver(meta(8));
        stream.deliver({ part: 'data', body: Buffer.from('12345678') });
        setImmediate(() => stream.finish({ ok: true, value: { bytes: 8 } }));
      }
      return stream;
    }, 3);
    expect(opened).toBe(2);
    expect(started.early.map((p) => p.body.toString())).toEqual(['12345678']);
  });

  it('keeps a download whose first bytes are read: a later loss fails that one response', async () => {
    let opened = 0;
    const started = await startDownload(() => {
      opened++;
      const stream = new BrokerStream(async () => undefined);
      stream.deliver(meta(1000));
      stream.deliver({ part: 'data', body: Buffer.alloc(100) });
      setImmediate(() => stream.finish(new BrokerCallError('worker_lost')));
      return stream;
    }, 3);
    expect(opened).toBe(1);
    expect(started.early).toHaveLength(1);
  });
});
