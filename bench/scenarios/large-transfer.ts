/**
 * One large file up and down, through the full stack and directly on the store, in one run. The bytes
 * are a repeated random megabyte, generated as they are sent, so the load process holds little memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../worker/storage/object-store.ts';

export interface TransferResult {
  bytes: number;
  seconds: number;
  mibPerSecond: number;
}

export interface LargeTransferOptions {
  apiUrl: string;
  store: ObjectStore;
  owner: string;
  /** The owner's token, when the server has accounts. */
  headers: Record<string, string>;
  bytes: number;
  log: (line: string) => void;
  /** Wraps each full-stack transfer (to reset and read peak RSS around it). */
  around?: (step: 'uploadStack' | 'downloadStack', run: () => Promise<void>) => Promise<void>;
}

const BLOCK = randomBytes(1024 * 1024);

async function* generate(total: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += BLOCK.length)
    yield total - sent >= BLOCK.length ? BLOCK : BLOCK.subarray(0, total - sent);
}

function webStream(total: number): ReadableStream<Uint8Array> {
  const source = generate(total);
  return new ReadableStream({
    async pull(controller) {
      const next = await source.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
}

async function timed(bytes: number, run: () => Promise<void>): Promise<TransferResult> {
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  return {
    bytes,
    seconds: Math.round(seconds * 100) / 100,
    mibPerSecond: Math.round((bytes / 2 ** 20 / seconds) * 10) / 10,
  };
}

async function drain(body: AsyncIterable<Uint8Array>, expected: number): Promise<string> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  if (size !== expected) throw new Error(`read ${size} bytes, expected ${expected}`);
  return hash.digest('hex');
}

export async function largeTransfer(o: LargeTransferOptions): Promise<Record<string, TransferResult>> {
  const url = `${o.apiUrl}/v1/users/${o.owner}/files/bench/large.bin`;
  const expected = await drain(generate(o.bytes), o.bytes);
  const results: Record<string, TransferResult> = {};
  o.log(`${o.bytes / 2 ** 20} MiB upload through the full stack`);
  const around = o.around ?? ((_step, run) => run());
  await around('uploadStack', async () => {
    results.uploadStack = await timed(o.bytes, async () => {
      const res = await fetch(url, {
        method: 'PUT',
        body: webStream(o.bytes),
        duplex: 'half',
        headers: { 'content-length': String(o.bytes), ...o.headers },
      } as RequestInit);
      if (res.status !== 201 && res.status !== 200)
        throw new Error(`upload: ${res.status} ${await res.text()}`);
    });
  });
  o.log('download through the full stack');
  await around('downloadStack', async () => {
    results.downloadStack = await timed(o.bytes, async () => {
      const res = await fetch(url, { headers: o.headers });
      if (
        res.body === null ||
        (await drain(res.body as unknown as AsyncIterable<Uint8Array>, o.bytes)) !== expected
      ) {
        throw new Error('download differs from the upload');
      }
    });
  });
  o.log('upload directly to the store');
  results.uploadDirect = await timed(o.bytes, async () => {
    await o.store.putStream('bench-direct/large.bin', generate(o.bytes));
  });
  o.log('download directly from the store');
  results.downloadDirect = await timed(o.bytes, async () => {
    const opened = await o.store.getStream('bench-direct/large.bin');
    if (opened === undefined || (await drain(opened.body as AsyncIterable<Buffer>, o.bytes)) !== expected) {
      throw new Error('direct download differs');
    }
  });
  return results;
}
