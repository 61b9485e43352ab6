/**
 * A minimal HTTP endpoint for Prometheus on processes that have no HTTP server of their own (broker,
 * worker): GET /metrics and GET /healthz, nothing else.
 */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';

export async function serveMetrics(
  registry: Registry,
  port: number,
  host: string,
): Promise<Server | undefined> {
  if (port === 0) return undefined;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(503).end();
        },
      );
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ALIVE ${hostname()}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
