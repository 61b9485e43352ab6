/**
 * The pure parts of the HTTP contract: JSON nesting depth, upload media types, how files are offered to
 * browsers, repeated singleton headers, parser-error answers, the per-client connection key and the
 * Idempotency-Key header sent twice.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clientErrorProblem, clientErrorResponse } from '../../api/client-error.ts';
import { ConnectionLimiter, clientKeyOf } from '../../api/connection-limit.ts';
import { contentDisposition, isPassiveType } from '../../api/files/content-disposition.ts';
import { idempotencyKeyOf } from '../../api/files/idempotency-key.ts';
import { readJsonBody } from '../../api/files/json-body.ts';
import { uploadMediaType } from '../../api/files/media-type.ts';
import { HttpProblem } from '../../api/problem.ts';
import { repeatedSingletonHeader } from '../../api/singleton-headers.ts';
import { pack } from '../../protocol/codec.ts';
import { jsonTextTooDeep, valueTooDeep } from '../../protocol/json-depth.ts';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('JSON depth', () => {
  it('counts containers in text, outside strings only', () => {
    expect(jsonTextTooDeep('1', 0)).toBe(false);
    expect(jsonTextTooDeep('{}', 0)).toBe(true);
    expect(jsonTextTooDeep('{"a":[1]}', 2)).toBe(false);
    expect(jsonTextTooDeep('{"a":[1]}', 1)).toBe(true);
    expect(jsonTextTooDeep(nested(32), 32)).toBe(false);
    expect(jsonTextTooDeep(nested(33), 32)).toBe(true);
    expect(jsonTextTooDeep(`{"a":"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(jsonTextTooDeep(`{"a":"\\"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(jsonTextTooDeep('[[]][[]][[]]', 2)).toBe(false);
  });

  it('measures decoded values without recursion, even far deeper than the stack allows', () => {
    expect(valueTooDeep({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(valueTooDeep({ a: [1, { b: 2 }] }, 2)).toBe(true);
    expect(valueTooDeep('x', 0)).toBe(false);
    expect(valueTooDeep(Buffer.alloc(10), 0)).toBe(false);
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(valueTooDeep(deep, 256)).toBe(true);
  });

  it('is what keeps the encoders alive: a 3 KB body nests deep enough to overflow msgpack', () => {
    const value = JSON.parse(`{"a":${nested(1500)}}`) as unknown;
    expect(() => pack({ patch: value })).toThrow(RangeError);
    expect(valueTooDeep(value, 32)).toBe(true);
  });

  it('bounds the files PATCH body too', async () => {
    const body = async function* () {
      yield Buffer.from(`{"tags":${nested(40)}}`);
    };
    await expect(readJsonBody(body(), 65_536, 32)).rejects.toMatchObject({ status: 400 });
    const ok = async function* () {
      yield Buffer.from(`{"tags":${nested(3)}}`);
    };
    await expect(readJsonBody(ok(), 65_536, 32)).resolves.toEqual({ tags: [[[]]] });
  });
});

describe('upload media type', () => {
  it.each([
    [undefined, 'application/octet-stream'],
    ['', 'application/octet-stream'],
    ['   ', 'application/octet-stream'],
    ['application/pdf', 'application/pdf'],
    ['Text/HTML;Charset=UTF-8', 'text/html; charset=UTF-8'],
    ['text/plain ; charset="utf-8" ;', 'text/plain; charset="utf-8"'],
    ['text/plain; a="x;y"; b=c', 'text/plain; a="x;y"; b=c'],
    ['application/vnd.api+json', 'application/vnd.api+json'],
  ])('%j is stored as %j', (header, stored) => {
    expect(uploadMediaType(header)).toBe(stored);
  });

  it.each([
    ';;;',
    'text',
    'a/b c',
    'text/',
    '/plain',
    'text/plain; charset',
    'text/plain; =x',
    'text/plain; a="unterminated',
    'text/html\u0000',
    'téxt/plain',
    `text/${'x'.repeat(300)}`,
  ])('%j is refused with a 400', (header) => {
    expect(() => uploadMediaType(header)).toThrow(HttpProblem);
    try {
      uploadMediaType(header);
    } catch (error) {
      expect((error as HttpProblem).status).toBe(400);
      expect((error as HttpProblem).message).toContain('application/octet-stream');
    }
  });
});

describe('content disposition', () => {
  it.each([
    ['image/png', true],
    ['image/jpeg', true],
    ['application/pdf', true],
    ['text/plain; charset=utf-8', true],
    ['video/mp4', true],
    ['audio/mpeg', true],
    ['text/html', false],
    ['TEXT/HTML; charset=utf-8', false],
    ['image/svg+xml', false],
    ['application/xhtml+xml', false],
    ['text/xml', false],
    ['application/xml', false],
    ['text/javascript', false],
    ['application/javascript', false],
    ['text/css', false],
    ['application/octet-stream', false],
    ['application/x-unknown', false],
  ])('%s is passive: %s', (type, passive) => {
    expect(isPassiveType(type)).toBe(passive);
    expect(contentDisposition('a/b.bin', type, false).split(';')[0]).toBe(passive ? 'inline' : 'attachment');
  });

  it('always offers an attachment on request', () => {
    expect(contentDisposition('scan.png', 'image/png', true)).toBe(
      `attachment; filename="scan.png"; filename*=UTF-8''scan.png`,
    );
  });

  it('names the file safely: a quoted ASCII fallback and an RFC 8187 UTF-8 name', () => {
    expect(contentDisposition('medical/Lab "März" 100%.pdf', 'application/pdf', false)).toBe(
      `inline; filename="Lab _M_rz_ 100_.pdf"; filename*=UTF-8''Lab%20%22M%C3%A4rz%22%20100%25.pdf`,
    );
    expect(contentDisposition('x/a\\b;c.html', 'text/html', false)).toBe(
      `attachment; filename="a_b;c.html"; filename*=UTF-8''a%5Cb%3Bc.html`,
    );
    expect(contentDisposition('中文', 'text/plain', false)).toBe(
      `inline; filename="__"; filename*=UTF-8''%E4%B8%AD%E6%96%87`,
    );
  });
});

describe('repeated singleton headers', () => {
  it('finds a singleton sent twice, whatever its case, and lets list headers repeat', () => {
    expect(repeatedSingletonHeader(['Host', 'x', 'Idempotency-Key', 'a', 'idempotency-key', 'b'])).toBe(
      'idempotency-key',
    );
    expect(repeatedSingletonHeader(['Authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b'])).toBe(
      'authorization',
    );
    expect(
      repeatedSingletonHeader(['If-Match', '"a"', 'If-Match', '"b"', 'Accept', 'x', 'Accept', 'y']),
    ).toBe(undefined);
    expect(repeatedSingletonHeader(['Slug', 'a', 'Range', 'bytes=0-1'])).toBe(undefined);
  });
});

describe('Idempotency-Key', () => {
  it('refuses two headers (as Node lists them distinct) and reads one', () => {
    expect(() => idempotencyKeyOf(['"a"', '"b"'])).toThrow(HttpProblem);
    expect(idempotencyKeyOf(['"a"'])).toBe('a');
    expect(idempotencyKeyOf('"a"')).toBe('a');
    expect(idempotencyKeyOf(undefined)).toBe(undefined);
  });
});

describe('parser errors', () => {
  it('maps parser codes to a status and a detail that echoes nothing of the request', () => {
    expect(clientErrorProblem('HPE_HEADER_OVERFLOW').status).toBe(431);
    expect(clientErrorProblem('ERR_HTTP_REQUEST_TIMEOUT').status).toBe(408);
    expect(clientErrorProblem('HPE_INVALID_CONTENT_LENGTH').status).toBe(400);
    expect(clientErrorProblem('HPE_SOMETHING_NEW')).toEqual({
      status: 400,
      detail: 'the request is not valid HTTP/1.1',
    });
    expect(clientErrorProblem(undefined).status).toBe(400);
  });

  it('writes a complete HTTP/1.1 problem answer with the request id, then closes', () => {
    const text = clientErrorResponse(431, 'too large', 'req-1');
    const [head = '', body = ''] = text.split('\r\n\r\n');
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(lines).toContain('x-request-id: req-1');
    expect(lines).toContain('content-type: application/problem+json; charset=utf-8');
    expect(lines).toContain('x-content-type-options: nosniff');
    expect(lines).toContain('connection: close');
    expect(lines).toContain(`content-length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({
      type: 'urn:podstore:problem:headers_too_large',
      title: 'Request Header Fields Too Large',
      status: 431,
      detail: 'too large',
      code: 'headers_too_large',
    });
  });
});

describe('connection cap', () => {
  it('counts IPv4 (also IPv4-mapped) by address and IPv6 by /64', () => {
    expect(clientKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:db8:1:2:bbbb::9')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(clientKeyOf(undefined)).toBe('unknown');
  });

  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    const closing = server;
    server = undefined;
    if (closing !== undefined) await new Promise((r) => closing.close(r));
  });

  it('closes a client connection over the cap at once and frees a slot when one closes', async () => {
    const refused: string[] = [];
    server = createServer(() => {});
    new ConnectionLimiter(2, (client) => refused.push(client)).attach(server);
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const open = () =>
      new Promise<{ socket: Socket; closed: Promise<void> }>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve({ socket, closed }));
        const closed = new Promise<void>((r) => socket.on('close', () => r()));
        socket.on('error', () => {});
        sockets.push(socket);
      });
    const first = await open();
    await open();
    const third = await open();
    await third.closed; // closed by the server
    expect(refused).toEqual(['127.0.0.1']);
    first.socket.destroy();
    await first.closed;
    await new Promise((r) => setTimeout(r, 50));
    const fourth = await open();
    const stillOpen = await Promise.race([
      fourth.closed.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 200)),
    ]);
    expect(stillOpen).toBe(true);
  });
});
