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

/**
 * Ports the Fetch standard blocks ("bad ports": fetch() refuses them, so a test could not reach a
 * process listening there). Of this range only 10080; the list is the standard's, for ranges to come.
 */
const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

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
    if (Array.from({ length: count }, (_, i) => base + i).some((port) => FETCH_BAD_PORTS.has(port))) continue;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}
