/**
 * Ports for the processes a test or a benchmark starts, on 127.0.0.1. They are taken from below the kernel's ephemeral
 * range (32768-60999 on Linux), where no outgoing connection can take one between the check and the
 * bind, and each test process (vitest fork) counts through its own slice, so two forks never hand out
 * the same port. Each port is checked free before it is handed out.
 */
import net from 'node:net';

const LOW = 10_000;
const HIGH = 32_000;
const SLICES = 8;
const slice = (Number(process.env.VITEST_POOL_ID ?? process.pid) - 1) % SLICES;
const sliceSize = Math.floor((HIGH - LOW) / SLICES);
const sliceStart = LOW + slice * sliceSize;
let cursor = Math.floor(Math.random() * sliceSize);

function nextPort(): number {
  const port = sliceStart + (cursor % sliceSize);
  cursor++;
  return port;
}

export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port that is free now and that this process has not handed out before (until it wraps around). */
export async function freePort(): Promise<number> {
  return freePortRange(1);
}

/** The first of `count` consecutive free ports. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((cursor % sliceSize) + count > sliceSize) cursor += sliceSize - (cursor % sliceSize);
    const base = nextPort();
    cursor += count - 1;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}
