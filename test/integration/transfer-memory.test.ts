/**
 * Memory per transfer is bounded whatever the file's size: a 384 MiB upload and download through the
 * real processes must not grow any process's peak resident memory by more than a fraction of that
 * (96 MiB), nor take any process near the size of the body.
 * (Linux: VmHWM, reset through /proc/<pid>/clear_refs before the transfer.)
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const SIZE = 384 * 1024 * 1024;
const BLOCK = createHash('sha512').update('podstore').digest(); // 64 bytes, repeated

let dir: string;
let stack: LocalStack;
let token: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-memory-'));
  stack = await startTestStack({ workers: 1, env: { DATA_DIR: dir } });
  token = await signUp(stack.apiUrl, 'memory');
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function peakMiB(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

function body(): ReadableStream<Uint8Array> {
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => BLOCK)); // 64 KiB
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= SIZE) controller.close();
      else {
        controller.enqueue(chunk);
        sent += chunk.length;
      }
    },
  });
}

describe('memory per transfer', () => {
  it('stays bounded for a 384 MiB upload and download', async () => {
    const pids = [stack.api, stack.broker, ...stack.workers].map((p) => p?.child.pid);
    for (const pid of pids) await writeFile(`/proc/${pid}/clear_refs`, '5');
    const before = await Promise.all(pids.map(peakMiB));
    const url = `${stack.apiUrl}/v1/users/memory/files/big.bin`;
    const put = await fetch(url, {
      method: 'PUT',
      headers: bearer(token),
      body: body(),
      duplex: 'half',
    } as RequestInit);
    expect(put.status).toBe(201);
    const got = await fetch(url, { headers: bearer(token) });
    let received = 0;
    for await (const chunk of got.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
    expect(received).toBe(SIZE);
    const after = await Promise.all(pids.map(peakMiB));
    const growth = after.map((a, i) => Math.round(a - (before[i] ?? 0)));
    // The growth is the measure; the peak cap only catches a body held whole (384 MiB would pass it).
    // At rest the api holds about 140 MiB since it serves the OpenAPI document and the console
    // (115 MiB before); its growth here is 67–78 MiB.
    for (const [i, mib] of after.entries()) expect(mib, `process ${i} peak`).toBeLessThan(256);
    for (const [i, mib] of growth.entries()) expect(mib, `process ${i} growth`).toBeLessThan(96);
  }, 120_000);
});
