/**
 * The HTTP contract at the edges, end to end on MinIO and NATS: deeply nested JSON on every JSON route,
 * requests Node's parser refuses, malformed URLs, upload media types, how files are served to browsers,
 * repeated singleton headers, slow headers and the per-client connection cap. Every refusal is a 4xx
 * application/problem+json with X-Request-Id; nothing is a 5xx and every process stays up.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { type RawAnswer, rawExchange, sendWhileAnswered } from '../helpers/raw-http.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
/** A second api with tight limits: headers within 1 s, 4 connections per client. */
let tight: ApiProcess;
let base: string;
let token = '';
const owner = 'contract-owner';

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 2,
    env: {
      NATS_URL: nats.url,
      ...minioEnv(minio, 'http-contract'),
    },
  });
  base = stack.apiUrl;
  tight = await startApiProcess({
    BROKER_FRONTEND_URL: stack.frontendEndpoint,
    API_HEADERS_TIMEOUT_MS: '1000',
    API_MAX_CONNECTIONS_PER_IP: '4',
  });
  token = await signUp(base, owner, { name: 'Contract' });
  await signUp(base, 'contract-grantee');
}, 120_000);

afterAll(async () => {
  await tight?.stop();
  await stack?.stop();
  await Promise.all([minio?.stop(), nats?.stop()]);
});

const auth = () => bearer(token);

async function expectProblem(response: Response, status: number): Promise<{ detail: string }> {
  const body = await response.text();
  expect({ status: response.status, body }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.headers.get('x-request-id')).toMatch(/^[\w.:-]{8,}$/);
  const problem = JSON.parse(body) as { status: number; detail: string };
  expect(problem.status).toBe(status);
  return problem;
}

function expectRawProblem(answer: RawAnswer | { error: string }, status: number): RawAnswer {
  expect(answer).not.toHaveProperty('error');
  const raw = answer as RawAnswer;
  expect(raw.status).toBe(status);
  expect(raw.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(raw.headers['x-request-id']).toMatch(/^[\w.:-]{8,}$/);
  expect((JSON.parse(raw.body) as { status: number }).status).toBe(status);
  return raw;
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('deeply nested JSON', () => {
  const deep = `{"a":${nested(1500)}}`; // about 3 KB
  const json = { 'content-type': 'application/json' };
  const routes: [string, string, Record<string, string>][] = [
    ['PUT', `/v1/users/${owner}`, json],
    ['PUT', '/v1/users/contract-new-user', json],
    ['PATCH', `/v1/users/${owner}`, { 'content-type': 'application/merge-patch+json' }],
    ['POST', `/v1/users/${owner}/tokens`, json],
    ['PUT', `/v1/users/${owner}/grants/contract-grantee`, json],
    ['PUT', `/v1/users/${owner}/webhooks/hook`, json],
    ['PATCH', `/v1/users/${owner}/files/notes.txt`, { 'content-type': 'application/merge-patch+json' }],
  ];

  it.each(routes)('%s %s: 400 problem+json, never a 500', async (method, path, headers) => {
    if (path.includes('/files/')) {
      const put = await fetch(`${base}${path}`, { method: 'PUT', headers: auth(), body: 'x' });
      expect(put.ok).toBe(true);
    }
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth(), ...headers },
      body: deep,
    });
    const problem = await expectProblem(response, 400);
    expect(problem.detail).toContain('nests too deeply');
  });

  it('takes a profile nested as deep as JSON_MAX_DEPTH allows (32), and the api keeps serving', async () => {
    const response = await fetch(`${base}/v1/users/${owner}`, {
      method: 'PATCH',
      headers: { ...auth(), 'content-type': 'application/merge-patch+json' },
      body: `{"deep":${nested(31)}}`,
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(((await response.json()) as { deep: unknown }).deep)).toBe(nested(31));
    const over = await fetch(`${base}/v1/users/${owner}`, {
      method: 'PATCH',
      headers: { ...auth(), 'content-type': 'application/merge-patch+json' },
      body: `{"deep":${nested(32)}}`,
    });
    await expectProblem(over, 400);
    expect(stack.api?.child.exitCode).toBe(null);
  });
});

describe('requests the HTTP parser refuses', () => {
  const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
  const cases: [string, string, number][] = [
    [
      'a Content-Length that is not a number',
      head(['PUT /v1/users/x HTTP/1.1', 'Host: a', 'Content-Length: abc']),
      400,
    ],
    [
      'Content-Length with Transfer-Encoding',
      `${head(['POST /v1/users/x HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Transfer-Encoding: chunked'])}0\r\n\r\n`,
      400,
    ],
    [
      'two different Content-Lengths',
      head(['PUT /v1/users/x HTTP/1.1', 'Host: a', 'Content-Length: 1', 'Content-Length: 2']),
      400,
    ],
    ['a NUL in a header value', head(['GET /healthz HTTP/1.1', 'Host: a', 'X-A: a\u0000b']), 400],
    ['a space in a header name', head(['GET /healthz HTTP/1.1', 'Host: a', 'X A: b']), 400],
    ['headers over 16 KiB', head(['GET /healthz HTTP/1.1', 'Host: a', `X-A: ${'a'.repeat(20_000)}`]), 431],
    ['a malformed request line', head(['GET /healthz HTTP/9.9x', 'Host: a']), 400],
    [
      'a bad chunk size',
      `${head(['POST /v1/users/x HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked'])}zz\r\n`,
      400,
    ],
  ];

  it.each(cases)('%s: a problem+json with a fresh X-Request-Id', async (_name, bytes, status) => {
    const answer = expectRawProblem(await rawExchange(base, bytes), status);
    expect(answer.headers.connection).toBe('close');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each([
    [
      'an expectation other than 100-continue',
      head(['PUT /v1/users/x HTTP/1.1', 'Host: a', 'Expect: fuzz', 'Content-Length: 2']),
      417,
    ],
    ['CONNECT', head(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443']), 405],
    ['an HTTP/1.1 request without Host', head(['GET /healthz HTTP/1.1']), 400],
  ] as const)(
    '%s (which Node answers bare, or not at all): a problem+json with X-Request-Id',
    async (_name, bytes, status) => {
      expectRawProblem(await rawExchange(base, bytes), status);
    },
  );

  it('a malformed URL escape: 400 problem+json with X-Request-Id', async () => {
    for (const path of [`/v1/users/%ff`, `/v1/users/${owner}/files/%E0%A4%A`]) {
      expectRawProblem(await rawExchange(base, `GET ${path} HTTP/1.1\r\nHost: a\r\n${''}\r\n`), 400);
    }
  });
});

describe('repeated singleton headers', () => {
  it('two Idempotency-Keys are refused, not joined into one key; nothing is created', async () => {
    const request = [
      `POST /v1/users/${owner}/files/keyed/ HTTP/1.1`,
      'Host: a',
      `Authorization: Bearer ${token}`,
      'Slug: twice.txt',
      'Idempotency-Key: "first"',
      'Idempotency-Key: "second"',
      'Content-Length: 5',
      '',
      'hello',
    ].join('\r\n');
    const answer = expectRawProblem(await rawExchange(base, request), 400);
    expect(answer.body).toContain('idempotency-key');
    const listing = await fetch(`${base}/v1/users/${owner}/files/keyed/`, { headers: auth() });
    expect(listing.status).toBe(404);
  });

  it('two Authorization headers are refused before either is used', async () => {
    const request = [
      `GET /v1/users/${owner} HTTP/1.1`,
      'Host: a',
      `Authorization: Bearer ${token}`,
      'Authorization: Bearer pst_someone_else',
      '',
      '',
    ].join('\r\n');
    expectRawProblem(await rawExchange(base, request), 400);
  });
});

describe('upload media types', () => {
  const upload = (headers: Record<string, string>) =>
    fetch(`${base}/v1/users/${owner}/files/types/file.bin`, {
      method: 'PUT',
      headers: { ...auth(), ...headers },
      body: 'any bytes',
    });

  it('an empty Content-Type stores the bytes as application/octet-stream', async () => {
    const answer = expectRawProblemless(
      await rawExchange(
        base,
        `PUT /v1/users/${owner}/files/types/empty.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nContent-Type: \r\nContent-Length: 3\r\n\r\nabc`,
      ),
    );
    expect([200, 201]).toContain(answer.status);
    expect(JSON.parse(answer.body)).toMatchObject({ contentType: 'application/octet-stream', size: 3 });
  });

  it('a malformed one is a 400 that says what to send, not a 415', async () => {
    for (const type of [';;;', 'text', 'a/b c', 'text/plain; charset']) {
      const problem = await expectProblem(await upload({ 'content-type': type }), 400);
      expect(problem.detail).toContain('application/octet-stream');
    }
  });

  it('a well-formed one is stored normalised', async () => {
    const response = await upload({ 'content-type': 'Text/Plain;Charset=UTF-8' });
    expect(((await response.json()) as { contentType: string }).contentType).toBe(
      'text/plain; charset=UTF-8',
    );
  });
});

function expectRawProblemless(answer: RawAnswer | { error: string }): RawAnswer {
  expect(answer).not.toHaveProperty('error');
  return answer as RawAnswer;
}

describe('files served to browsers', () => {
  const put = (path: string, type: string, body: string) =>
    fetch(`${base}/v1/users/${owner}/files/web/${path}`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': type },
      body,
    });
  const get = (path: string, method = 'GET') =>
    fetch(`${base}/v1/users/${owner}/files/web/${path}`, { method, headers: auth() });

  it('active types (HTML, SVG, XHTML, XML, JavaScript) are sandboxed attachments, never sniffed', async () => {
    const active: [string, string][] = [
      ['page.html', 'text/html'],
      ['logo.svg', 'image/svg+xml'],
      ['doc.xhtml', 'application/xhtml+xml'],
      ['data.xml', 'text/xml'],
      ['app.js', 'text/javascript'],
      ['unknown', 'application/octet-stream'],
    ];
    for (const [name, type] of active) {
      expect((await put(name, type, '<script>alert(document.domain)</script>')).ok).toBe(true);
      for (const method of ['GET', 'HEAD']) {
        const response = await get(name, method);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe(type);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('content-security-policy')).toBe(
          "default-src 'none'; frame-ancestors 'none'; sandbox",
        );
        expect(response.headers.get('content-disposition')).toBe(
          `attachment; filename="${name}"; filename*=UTF-8''${name}`,
        );
        await response.arrayBuffer();
      }
    }
  });

  it('passive types are inline (still sandboxed); ?download makes any an attachment with a safe name', async () => {
    expect((await put('Scan%20M%C3%A4rz.png', 'image/png', 'png bytes')).ok).toBe(true);
    const inline = await get('Scan%20M%C3%A4rz.png');
    expect(inline.headers.get('content-disposition')).toBe(
      `inline; filename="Scan M_rz.png"; filename*=UTF-8''Scan%20M%C3%A4rz.png`,
    );
    expect(inline.headers.get('content-security-policy')).toContain('sandbox');
    expect(await inline.text()).toBe('png bytes');
    const download = await get('Scan%20M%C3%A4rz.png?download');
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; /);
    expect(await download.text()).toBe('png bytes');
  });

  it('every other answer says nosniff and loads nothing', async () => {
    for (const path of [`/v1/users/${owner}`, `/v1/users/${owner}/files/web/`, '/no/such/route']) {
      const response = await fetch(`${base}${path}`, { headers: auth() });
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      await response.arrayBuffer();
    }
  });
});

describe('slow and greedy clients', () => {
  it('headers that trickle in are cut at API_HEADERS_TIMEOUT_MS with a 408 problem', async () => {
    const url = new URL(tight.url);
    const socket = connect(Number(url.port), url.hostname);
    const started = Date.now();
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on('error', () => {});
    socket.write('GET /healthz HTTP/1.1\r\nHost: a\r\n');
    const trickle = setInterval(() => socket.write('X-Slow: y\r\n'), 200);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    clearInterval(trickle);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(4000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toMatch(/x-request-id: [\w-]+/);
    expect(received).toContain('application/problem+json');
  });

  it('a client over API_MAX_CONNECTIONS_PER_IP has its extra connections closed at once; others served', async () => {
    const url = new URL(tight.url);
    const held: Socket[] = [];
    const open = () =>
      new Promise<{ socket: Socket; closed: Promise<number> }>((resolve) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          const at = Date.now();
          resolve({ socket, closed: new Promise((r) => socket.on('close', () => r(Date.now() - at))) });
        });
        socket.on('error', () => {});
        held.push(socket);
      });
    try {
      for (let i = 0; i < 4; i++) await open();
      const extra = await open();
      expect(await extra.closed).toBeLessThan(1000);
      // A held one still works.
      const first = held[0] as Socket;
      const answer = new Promise<string>((resolve) =>
        first.once('data', (chunk: Buffer) => resolve(chunk.toString())),
      );
      first.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
      // Once one closes, a new connection is served.
      first.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const health = await fetch(`${tight.url}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('podstore_api_malformed_requests_total');
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});

describe('answers sent before the body is read', () => {
  // A client (or a proxy with request buffering off) still sending its body must get the whole answer,
  // and the connection must end with the api's FIN, never a reset: a reset makes nginx drop the answer
  // and say 502 (api/lingering-close.ts).
  const head = (line: string, type: string, declared: number, headers: string[]) =>
    [line, 'Host: a', `Content-Type: ${type}`, `Content-Length: ${declared}`, ...headers, '', ''].join(
      '\r\n',
    );
  const upload = (path: string, headers: string[], declared: number) =>
    head(`PUT /v1/users/${owner}/files/${path} HTTP/1.1`, 'application/octet-stream', declared, headers);

  function expectWholeProblem(sent: { answer: string; error?: string }, status: number) {
    const end = sent.answer.indexOf('\r\n\r\n');
    const head = sent.answer.slice(0, end);
    expect({ statusLine: head.split('\r\n')[0], error: sent.error }).toEqual({
      statusLine: expect.stringMatching(new RegExp(`^HTTP/1\\.1 ${status} `)),
      error: undefined,
    });
    expect(head).toMatch(/\r\nconnection: close(\r\n|$)/i);
    expect(head).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(head).toMatch(/\r\nx-request-id: [\w.:-]{8,}(\r\n|$)/i);
    expect((JSON.parse(sent.answer.slice(end + 4)) as { status: number }).status).toBe(status);
  }

  it.each([
    ['no credentials (401)', upload('linger-a.bin', [], 1 << 30), 401],
    ['a declared size over MAX_FILE_BYTES (413)', upload('linger-b.bin', ['AUTH'], 10 * 2 ** 30), 413],
    [
      'a JSON body over the route limit (413)',
      head(`POST /v1/users/${owner}/grants HTTP/1.1`, 'application/json', 64 << 20, ['AUTH']),
      413,
    ],
    [
      'a metadata patch over its limit, refused while being read (413)',
      head(`PATCH /v1/users/${owner}/files/linger-d.bin HTTP/1.1`, 'application/merge-patch+json', 64 << 20, [
        'AUTH',
      ]),
      413,
    ],
  ])('%s: the whole problem arrives while the client still sends', async (_name, head, status) => {
    for (let i = 0; i < 5; i++) {
      const sent = await sendWhileAnswered(
        base,
        head.replace('AUTH', `Authorization: Bearer ${token}`),
        'answer',
      );
      expectWholeProblem(sent, status);
    }
  });

  it('the worker answers first (a failed If-Match): the client gets its 412 whole, then a FIN', async () => {
    const file = `${base}/v1/users/${owner}/files/linger-c.bin`;
    expect((await fetch(file, { method: 'PUT', body: 'v1', headers: auth() })).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const head = upload(
        'linger-c.bin',
        [`Authorization: Bearer ${token}`, 'If-Match: "not-its-etag"'],
        64 << 20,
      );
      const sent = await sendWhileAnswered(base, head, 'fin');
      expectWholeProblem(sent, 412);
      expect(sent.endedByServer).toBe(true);
    }
    expect(await (await fetch(file, { headers: auth() })).text()).toBe('v1');
  });
});

describe('shutting down', () => {
  it('a request that arrives on a kept-alive connection during SIGTERM gets a 503 problem with a request id', async () => {
    const api = await startApiProcess({ BROKER_FRONTEND_URL: stack.frontendEndpoint });
    const url = new URL(api.url);
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // An upload in flight holds the connection open through the shutdown...
    socket.write(
      `PUT /v1/users/${owner}/files/shutdown.txt HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nContent-Length: 10\r\n\r\nhello`,
    );
    await new Promise((r) => setTimeout(r, 500));
    const exited = api.stop();
    await new Promise((r) => setTimeout(r, 500));
    // ...then ends, and a second request follows it on the same connection.
    socket.write('worldGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
    socket.destroy();
    expect(await exited).toBe(0);
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 201 /);
    const second = answers[1] ?? '';
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nx-request-id: [\w-]+\r\n/i);
    expect(second).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(second).toMatch(/\r\nretry-after: 1\r\n/i);
  }, 60_000);
});
