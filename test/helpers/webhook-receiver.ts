/**
 * A webhook receiver on a loopback port for tests: records every delivery (path, headers, raw body)
 * and answers each path as told (a fixed status, or a list of statuses for successive calls).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export interface WebhookReceiver {
  port: number;
  url(path: string): string;
  deliveries: Delivery[];
  /** Statuses to answer on `path`, one per call; the last one repeats. Default 200. */
  answer(path: string, statuses: number[]): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const answers = new Map<string, number[]>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      deliveries.push({ path, headers: request.headers, body: Buffer.concat(chunks), at: Date.now() });
      const planned = answers.get(path) ?? [200];
      response.statusCode = (planned.length > 1 ? planned.shift() : planned[0]) ?? 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    deliveries,
    answer: (path, statuses) => answers.set(path, [...statuses]),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
