/**
 * Every transfer ends, whichever side stalls or fails: a worker's channel aborted at its deadline, an
 * api upload whose client sends nothing while the worker gives up, an api download whose worker fails
 * or whose client reads nothing. And the storage health check that readiness reads.
 */
import { PassThrough, Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerCallError } from '../../api/broker-client.ts';
import { BrokerStream } from '../../api/files/broker-stream.ts';
import { downloadBody } from '../../api/files/download.ts';
import { ReplayableBody } from '../../api/files/replayable-body.ts';
import { pumpUpload } from '../../api/files/upload.ts';
import { CommandError } from '../../protocol/outcome.ts';
import { StorageHealth } from '../../worker/health/storage-health.ts';
import { RequestChannel } from '../../worker/streams/request-channel.ts';

const header = {
  id: '1',
  service: 'files',
  command: 'files.put',
  deadline: Date.now() + 60_000,
  idempotent: false,
  requestId: 'r1',
};

describe('RequestChannel.abort', () => {
  it('fails the part being waited for, every later wait and every later send', async () => {
    const sent: string[] = [];
    let streams = 0;
    const channel = new RequestChannel(
      header,
      Buffer.alloc(0),
      async (part) => {
        sent.push(part);
      },
      () => streams++,
    );
    await channel.sendPart('credit', undefined, 4);
    const waiting = channel.next(60_000);
    channel.abort(new CommandError('timeout', 'deadline passed'));
    await expect(waiting).rejects.toMatchObject({ code: 'timeout' });
    await expect(channel.next(60_000)).rejects.toMatchObject({ code: 'timeout' });
    await expect(channel.sendPart('data', Buffer.from('x'))).rejects.toMatchObject({ code: 'timeout' });
    expect(channel.signal.aborted).toBe(true);
    expect(sent).toEqual(['credit']);
    expect([channel.streamed, streams]).toEqual([true, 1]);
  });
});

/** A BrokerStream whose client parts are recorded; the test plays the worker. */
function fakeStream(idleMs = 30_000) {
  const parts: string[] = [];
  const stream = new BrokerStream(async (_final, part) => {
    parts.push(part);
  }, idleMs);
  return { stream, parts };
}

describe('api upload', () => {
  it('ends when the worker answers, although the client sends nothing more', async () => {
    const { stream } = fakeStream();
    const body = new PassThrough();
    body.write(Buffer.from('first bytes'));
    const pumped = pumpUpload(stream, new ReplayableBody(body, 0).reader(), {
      maxBytes: 1 << 20,
      chunkBytes: 4,
    });
    stream.deliver({ part: 'credit', credit: 4, body: Buffer.alloc(0) });
    await new Promise((r) => setTimeout(r, 20));
    // The client stalls; the worker gives up on it (STREAM_IDLE_MS) and answers.
    stream.finish({ ok: false, error: { code: 'aborted', detail: 'no part from the client' } });
    expect(await pumped).toBe(false);
    body.destroy();
  });
});

describe('api download', () => {
  const collect = (readable: NodeJS.ReadableStream) =>
    new Promise<{ bytes: number; error?: Error }>((resolve) => {
      let bytes = 0;
      readable.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      readable.on('end', () => resolve({ bytes }));
      readable.on('error', (error) => resolve({ bytes, error }));
    });

  it('fails at once with a 503 problem when the worker is lost mid-transfer', async () => {
    const { stream } = fakeStream();
    const readable = downloadBody(stream, 4, 1024);
    const done = collect(readable);
    stream.deliver({ part: 'data', body: Buffer.alloc(100) });
    await new Promise((r) => setTimeout(r, 20));
    stream.finish(new BrokerCallError('worker_lost'));
    const { bytes, error } = await done;
    expect(bytes).toBe(100);
    expect(error).toMatchObject({ status: 503 });
  });

  it('fails with the worker error mapped to its status (storage down: 503)', async () => {
    const { stream } = fakeStream();
    const done = collect(downloadBody(stream, 4, 1024));
    stream.finish({ ok: false, error: { code: 'storage_unavailable', detail: 'S3 store down' } });
    expect((await done).error).toMatchObject({ status: 503 });
  });

  it('cuts off a client that reads nothing for the idle time, and tells the worker to stop', async () => {
    const { stream, parts } = fakeStream(150);
    const readable = downloadBody(stream, 2, 16);
    // A consumer that never finishes its first write: the response stops pulling.
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    readable.pipe(stuck);
    const failed = new Promise<Error>((resolve) => readable.on('error', resolve));
    for (let i = 0; i < 4; i++) stream.deliver({ part: 'data', body: Buffer.alloc(64) });
    const error = await failed;
    expect(error.message).toMatch(/read nothing for 150 ms/);
    expect(parts).toContain('cancel');
  });
});

describe('StorageHealth', () => {
  const logger = pino({ level: 'silent' });

  it('counts a store that hangs as down after one interval, and up again once it answers', async () => {
    let hang = true;
    const store = {
      ping: () => (hang ? new Promise<void>(() => undefined) : Promise.resolve()),
    };
    const health = new StorageHealth(store, 100, logger);
    expect(health.state.ok).toBe(true);
    await health.check();
    expect(health.state).toMatchObject({ ok: false, detail: 'no answer within 100 ms' });
    hang = false;
    await health.check();
    expect(health.state).toMatchObject({ ok: true, detail: 'ok' });
  });

  it('says down when the store refuses, and when checks stopped long ago', async () => {
    let now = 0;
    const health = new StorageHealth(
      { ping: () => Promise.reject(new Error('connect ECONNREFUSED')) },
      100,
      logger,
      undefined,
      () => now,
    );
    await health.check();
    expect(health.state).toMatchObject({ ok: false, detail: 'connect ECONNREFUSED' });
    const fine = new StorageHealth({ ping: () => Promise.resolve() }, 100, logger, undefined, () => now);
    now = 301;
    expect(fine.state).toMatchObject({ ok: false, detail: 'no recent storage check' });
  });
});
