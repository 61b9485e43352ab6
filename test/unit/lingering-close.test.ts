/**
 * Lingering close on a real Node http server and a raw TCP client that behaves like a streaming proxy:
 * it goes on writing the request body while the answer arrives. The answer must arrive whole and the
 * connection must end with the server's FIN, not a reset; a client that never stops is cut off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lingerAfterAnswer } from '../../api/lingering-close.ts';
import { sendWhileAnswered } from '../helpers/raw-http.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server that answers 503 + Connection: close as soon as the first body bytes arrive. */
async function answeringEarly(linger: boolean, lingerMs = 5000): Promise<string> {
  const created = createServer((request, response) => {
    request.once('data', () => {
      if (linger) lingerAfterAnswer(request, lingerMs);
      response.writeHead(503, {
        'content-type': 'text/plain',
        'content-length': '4',
        connection: 'close',
        'retry-after': '1',
      });
      response.end('busy');
    });
  });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

const HEAD =
  'PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\n';

describe('lingering close', () => {
  it('a client still sending its body gets the whole early answer and a FIN, never a reset', async () => {
    const base = await answeringEarly(true);
    for (let i = 0; i < 20; i++) {
      const result = await sendWhileAnswered(base, HEAD, 'answer');
      expect({ status: result.answer.split('\r\n')[0], error: result.error }).toEqual({
        status: 'HTTP/1.1 503 Service Unavailable',
        error: undefined,
      });
      expect(result.answer).toMatch(/\r\nconnection: close\r\n/i);
      expect(result.answer.endsWith('busy')).toBe(true);
    }
  });

  it('the server closes its half first; the client stops on it and nothing is reset', async () => {
    const base = await answeringEarly(true);
    const result = await sendWhileAnswered(base, HEAD, 'fin');
    expect(result.error).toBeUndefined();
    expect(result.endedByServer).toBe(true);
  });

  it('a client that never stops sending is cut off after the linger time', async () => {
    const base = await answeringEarly(true, 300);
    const result = await sendWhileAnswered(base, HEAD, 'never');
    expect(result.answer.startsWith('HTTP/1.1 503 ')).toBe(true);
    expect(result.ms).toBeGreaterThanOrEqual(250);
    expect(result.ms).toBeLessThan(5000);
  });
});
