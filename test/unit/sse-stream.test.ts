/** The SSE response body: its wire format, the heartbeat, and disconnecting a client that stops reading. */
import { describe, expect, it } from 'vitest';
import { SseStream } from '../../api/events/sse-stream.ts';

const read = (stream: SseStream) => {
  const chunks: string[] = [];
  stream.body.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return () => chunks.join('');
};

describe('SseStream', () => {
  it('writes retry, events with their id, and comments in SSE format', async () => {
    const reasons: string[] = [];
    const stream = new SseStream({
      heartbeatMs: 60_000,
      maxBufferBytes: 1 << 20,
      onClose: (r) => reasons.push(r),
    });
    const text = read(stream);
    stream.event(7, { kind: 'user.patched', note: 'two\nlines' });
    stream.comment('hello\nworld');
    stream.close();
    await new Promise((resolve) => stream.body.once('end', resolve));
    expect(text()).toBe(
      'retry: 2000\n\nid: 7\ndata: {"kind":"user.patched","note":"two\\nlines"}\n\n: hello world\n\n',
    );
    expect(reasons).toEqual(['closed']);
    stream.event(8, {}); // after close: ignored
    expect(stream.ended).toBe(true);
  });

  it('sends `: ping` while idle', async () => {
    const stream = new SseStream({ heartbeatMs: 40, maxBufferBytes: 1 << 20, onClose: () => {} });
    const text = read(stream);
    await new Promise((resolve) => setTimeout(resolve, 150));
    stream.close();
    expect(text().match(/: ping\n\n/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('disconnects a client that stops reading once too much is unsent', () => {
    const reasons: string[] = [];
    const stream = new SseStream({
      heartbeatMs: 60_000,
      maxBufferBytes: 64 * 1024,
      onClose: (r) => reasons.push(r),
    });
    // Nobody reads stream.body: the bytes pile up.
    const payload = { data: 'x'.repeat(1000) };
    let written = 0;
    while (!stream.ended && written < 1000) {
      stream.event(++written, payload);
    }
    expect(stream.ended).toBe(true);
    expect(reasons).toEqual(['overflow']);
    expect(written).toBeGreaterThan(60);
    expect(written).toBeLessThan(70);
    expect(stream.body.destroyed).toBe(true);
  });

  it('reports a client that went away', () => {
    const reasons: string[] = [];
    const stream = new SseStream({
      heartbeatMs: 60_000,
      maxBufferBytes: 1 << 20,
      onClose: (r) => reasons.push(r),
    });
    stream.body.destroy();
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        expect(reasons).toEqual(['client']);
        expect(stream.ended).toBe(true);
        resolve();
      });
    });
  });
});
