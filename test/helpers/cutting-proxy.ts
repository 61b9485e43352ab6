/**
 * A TCP proxy in front of the api that cuts the connection carrying the upload when the bytes sent
 * through it pass given marks: a network that drops, for resumable-upload tests.
 */
import net from 'node:net';

export interface CuttingProxy {
  url: string;
  /** From now on, bytes from clients past `bytes` in all are held back (the upload stalls). */
  holdAfter(bytes: number): void;
  /** Passes everything again. */
  release(): void;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Bytes from clients so far. */
  readonly bytes: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: URL, cutAtBytes: number[]): Promise<CuttingProxy> {
  const marks = [...cutAtBytes].sort((a, b) => a - b);
  let bytes = 0;
  let cuts = 0;
  let holdAt = Number.POSITIVE_INFINITY;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (marks.length > 0 && bytes >= (marks[0] as number)) {
        marks.shift();
        cuts++;
        drop();
        return;
      }
      if (bytes > holdAt) {
        bytes -= chunk.length; // held back: never forwarded
        client.pause();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    holdAfter(at: number) {
      holdAt = at;
    },
    release() {
      holdAt = Number.POSITIVE_INFINITY;
    },
    get cuts() {
      return cuts;
    },
    get bytes() {
      return bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
