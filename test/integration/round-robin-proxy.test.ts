/**
 * The local runner's reverse proxy (deploy/local/round-robin-proxy.ts), in front of real HTTP servers on
 * loopback: round-robin, bodies streamed both ways without buffering, request ids, hidden headers, and
 * what happens when an upstream is down or the caller goes away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/free-port.ts';
import {
  type RunningProxy,
  startRoundRobinProxy,
  type Upstream,
} from '../../deploy/local/round-robin-proxy.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
const proxies: RunningProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close(200)));
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
});

async function upstream(handler: Handler): Promise<Upstream> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

async function proxyTo(upstreams: Upstream[]): Promise<string> {
  const proxy = await startRoundRobinProxy({ host: '127.0.0.1', port: 0, upstreams });
  proxies.push(proxy);
  return `http://127.0.0.1:${proxy.port}`;
}

/** An upstream that answers its name, and what it saw, as JSON. */
const named = (name: string) =>
  upstream((req, res) => {
    res.setHeader('server', 'upstream/1.0');
    res.setHeader('x-powered-by', 'something');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers }));
  });

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

describe('round-robin proxy', () => {
  it('spreads requests over every upstream in turn', async () => {
    const url = await proxyTo(await Promise.all(['a', 'b', 'c'].map(named)));
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${url}/v1/users/x?i=${i}`);
      const body = (await res.json()) as { name: string; url: string };
      expect(body.url).toBe(`/v1/users/x?i=${i}`);
      names.push(body.name);
    }
    expect(names).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('keeps a sane X-Request-Id, replaces a bad one, and hides Server and X-Powered-By', async () => {
    const url = await proxyTo([await named('a')]);

    const kept = await fetch(`${url}/x`, { headers: { 'x-request-id': 'my-id.42' } });
    const seen = (await kept.json()) as { headers: Record<string, string> };
    expect(seen.headers['x-request-id']).toBe('my-id.42');
    expect(kept.headers.get('x-request-id')).toBe('my-id.42');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers.host).toBe(new URL(url).host);
    expect(kept.headers.get('server')).toBeNull();
    expect(kept.headers.get('x-powered-by')).toBeNull();

    const replaced = await fetch(`${url}/x`, { headers: { 'x-request-id': 'bad id with spaces' } });
    const fresh = ((await replaced.json()) as { headers: Record<string, string> }).headers['x-request-id'];
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.headers.get('x-request-id')).toBe(fresh);
  });

  it('streams a request body to the upstream before the caller has sent all of it', async () => {
    let firstChunk: () => void = () => {};
    const firstChunkSeen = new Promise<void>((resolve) => {
      firstChunk = resolve;
    });
    const url = await proxyTo([
      await upstream((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          firstChunk();
        });
        req.on('end', () => res.end(Buffer.concat(chunks).toString()));
      }),
    ]);

    const req = request(`${url}/upload`, { method: 'PUT' }); // chunked: no content-length
    const answer = new Promise<string>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
    });
    req.write('first ');
    // A buffering proxy would wait for the end of the body, which never comes before this resolves.
    await withTimeout(firstChunkSeen, 5000, 'the first chunk reaching the upstream');
    req.end('second');
    expect(await answer).toBe('first second');
  });

  it('streams a response to the caller before the upstream has finished it', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const url = await proxyTo([
      await upstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first ');
        void released.then(() => res.end('second'));
      }),
    ]);

    const reader = fetch(`${url}/download`).then((res) =>
      (res.body as ReadableStream<Uint8Array>).getReader(),
    );
    // A buffering proxy would hold everything back until the upstream ends, which waits for this.
    const first = await withTimeout(
      reader.then((r) => r.read()),
      5000,
      'the first chunk reaching the caller',
    );
    expect(Buffer.from(first.value ?? []).toString()).toBe('first ');
    release();
    let rest = '';
    const stream = await reader;
    for (let part = await stream.read(); !part.done; part = await stream.read())
      rest += Buffer.from(part.value).toString();
    expect(rest).toBe('second');
  });

  it('moves 16 MiB up and down intact', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const url = await proxyTo([
      await upstream((req, res) => {
        if (req.method === 'GET') {
          res.end(data);
          return;
        }
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
        });
        req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      }),
    ]);

    const up = await fetch(`${url}/file`, { method: 'PUT', body: data });
    expect(await up.json()).toEqual({ bytes: data.length, sha256: sha256(data) });
    const down = Buffer.from(await (await fetch(`${url}/file`)).arrayBuffer());
    expect(down.length).toBe(data.length);
    expect(sha256(down)).toBe(sha256(data));
  });

  it('sends a request to the next upstream when one refuses the connection, with or without a body', async () => {
    const closed: Upstream = { host: '127.0.0.1', port: await freePort() };
    const url = await proxyTo([closed, await named('live')]);
    for (let i = 0; i < 4; i++) {
      const get = await fetch(`${url}/x`);
      expect(((await get.json()) as { name: string }).name).toBe('live');
      const put = await fetch(`${url}/x`, { method: 'PUT', body: 'payload' });
      expect(((await put.json()) as { method: string }).method).toBe('PUT');
    }
  });

  it('answers 502 problem+json, with the request id, when no upstream answers', async () => {
    const url = await proxyTo([{ host: '127.0.0.1', port: await freePort() }]);
    const res = await fetch(`${url}/x`, {
      method: 'PUT',
      body: 'payload',
      headers: { 'x-request-id': 'r-1' },
    });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-request-id')).toBe('r-1');
    expect(await res.json()).toMatchObject({ status: 502, title: 'Bad Gateway' });
  });

  it('keeps /metrics inside and answers its own health check', async () => {
    const url = await proxyTo([await named('a')]);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(404);
    expect(metrics.headers.get('content-type')).toBe('application/problem+json');
    const health = await fetch(`${url}/proxy-healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ALIVE proxy\n');
  });

  it('stops the upstream exchange when the caller goes away mid-download', async () => {
    let upstreamClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    const url = await proxyTo([
      await upstream((_req, res) => {
        res.writeHead(200);
        res.write('x'.repeat(1024));
        res.on('close', upstreamClosed); // never ended by the upstream itself
      }),
    ]);
    const controller = new AbortController();
    const res = await fetch(`${url}/endless`, { signal: controller.signal });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    await withTimeout(closed, 5000, 'the upstream response being closed');
  });
});
