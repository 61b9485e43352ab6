/**
 * HTTP API fuzz: random methods, paths, headers, bodies, tokens and encodings from a seeded PRNG, sent
 * raw (no client-side normalisation) to the real stack. No answer may be a 5xx other than an honest
 * 503 with Retry-After, every process stays up, and memory stays flat once warmed up.
 *
 * Reproducible: FUZZ_SEED picks the sequence (default below); FUZZ_COUNT the number of requests
 * (default 2000; e.g. `FUZZ_COUNT=50000 npx vitest run test/integration/fuzz-http.test.ts` for a long run).
 * A failure names the request's index, so `FUZZ_SEED=<seed>` replays the same sequence.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_NEED_NATS } from '../../api/routes/events.ts';
import { seededRandom } from '../../bench/chaos/seeded-random.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { startChaosStack } from '../helpers/chaos.ts';
import { rawExchange } from '../helpers/raw-http.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_611);
const COUNT = Number(process.env.FUZZ_COUNT ?? 2000);
const WARM_UP = Math.min(400, Math.floor(COUNT / 4));
const CONCURRENCY = 8;

let dataDir: string;
let stack: LocalStack;
/** The fuzzer's own token: most requests carry it, so they reach the workers. */
let token = '';
/** Another account the fuzz never holds a token of; its file must come through untouched. */
let keeperToken = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'podstore-fuzz-http-'));
  stack = await startChaosStack({ workers: 2, env: { DATA_DIR: dataDir, MAX_FILE_BYTES: '1048576' } });
  token = await signUp(stack.apiUrl, 'fuzzer', { name: 'Fuzz' });
  keeperToken = await signUp(stack.apiUrl, 'keeper');
  const seeded = await fetch(`${stack.apiUrl}/v1/users/keeper/files/docs/a.txt`, {
    method: 'PUT',
    headers: bearer(keeperToken),
    body: 'a file to find',
  });
  expect(seeded.status).toBe(201);
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

/** Seeded choices of test inputs. */
function prng(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => next() < p;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const text = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.~ %/é中😀\u0000\u001f') =>
    Array.from({ length: n }, () => pick([...alphabet])).join('');
  return { next, int, pick, chance, bytes, text };
}

type Random = ReturnType<typeof prng>;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Raw header lines sent after `headers`: repeated headers, header lists. */
  extra?: string[];
  body: Buffer | undefined;
}

/** What a header value may carry on the wire: visible ASCII, space, tab and raw bytes 0x80-0xff. */
const HEADER_TEXT = 'abcXYZ019 -_.,;:=/"\'\\()<>@?{}[]*\t\u0080\u00e9\u00ff';

const METHODS = ['GET', 'GET', 'HEAD', 'PUT', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'get'];
const USERS = ['fuzzer', 'fuzzer', 'nobody-here', 'Bad..Name', 'a', 'x'.repeat(70), '%00', 'é', ''];
const SEGMENTS = [
  'docs',
  'a.txt',
  '..',
  '.',
  '',
  '%2e%2e',
  '%ff',
  '%00',
  'é',
  '中文',
  'x'.repeat(300),
  '%2F',
  ' ',
];

function randomPath(r: Random): string {
  const user = r.pick(USERS);
  const kind = r.int(12);
  let path: string;
  if (kind < 6) {
    const segments = Array.from({ length: r.int(5) }, () =>
      r.chance(0.3) ? r.text(r.int(12)) : r.pick(SEGMENTS),
    );
    path = `/v1/users/${user}/files/${segments.map((s) => encodeURI(s).replace(/%25/g, '%')).join('/')}${r.chance(0.3) ? '/' : ''}`;
  } else if (kind === 6) path = `/v1/users/${user}`;
  else if (kind === 7)
    path = `/v1/users/${user}/${r.pick(['grants', 'tokens', 'audit', 'events', 'webhooks'])}/${r.chance(0.5) ? r.pick(USERS) : ''}`;
  else if (kind === 8)
    path = r.pick(['/healthz', '/readyz', '/metrics', '/docs', '/openapi.json', '/', '/v1', '/v2/x']);
  else if (kind === 9) path = `/${encodeURI(r.text(r.int(40)))}`;
  else if (kind === 10) path = `/v1/users/${user}/files/${'a/'.repeat(r.int(300))}`;
  else path = `/v1//users///${user}/files/./docs/../a.txt`;
  if (r.chance(0.3)) {
    const query = r.pick([
      'limit=abc',
      'limit=0',
      'limit=1001',
      'limit=5',
      'metadata',
      'cursor=%%%',
      `cursor=${r.text(20)}`,
      'kinds=a,b',
      'a=1&a=2',
      r.text(30),
    ]);
    path += `?${encodeURI(query).replace(/%25/g, '%')}`;
  }
  return path;
}

function randomHeaders(r: Random): Record<string, string> {
  const headers: Record<string, string> = {};
  const auth = r.int(6);
  if (auth <= 2) Object.assign(headers, bearer(token));
  else if (auth === 3)
    headers.authorization = `Bearer ${r.pick(['pst_', 'garbage', `pst_${r.text(40, 'abcdef0123456789')}`, 'x'.repeat(5000)])}`;
  else if (auth === 4)
    headers.authorization = r.pick(['Basic YTpi', 'Bearer', 'bearer  x', r.text(30, 'abc ')]);
  if (r.chance(0.6)) {
    headers['content-type'] = r.pick([
      'application/json',
      'application/merge-patch+json',
      'application/octet-stream',
      'text/plain; charset=utf-8',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      ';;;',
      'application/json; charset=latin1',
      'application/partial-upload',
    ]);
  }
  const TAG_LISTS = [
    '*',
    '"abc"',
    'W/"x"',
    'garbage',
    '"',
    '',
    '"a", "b"',
    '"a",,W/"b"',
    '*, "a"',
    '"a" "b"',
    ' , ',
  ];
  const DATES = [
    'Sun, 06 Nov 1994 08:49:37 GMT',
    'Sunday, 06-Nov-94 08:49:37 GMT',
    'Sun Nov  6 08:49:37 1994',
    'Sun, 31 Feb 2099 25:00:00 GMT',
    'yesterday',
    '',
  ];
  if (r.chance(0.2)) headers['if-match'] = r.pick(TAG_LISTS);
  if (r.chance(0.2)) headers['if-none-match'] = r.pick(TAG_LISTS);
  if (r.chance(0.1)) headers['if-modified-since'] = r.pick(DATES);
  if (r.chance(0.1)) headers['if-unmodified-since'] = r.pick(DATES);
  if (r.chance(0.1)) headers['if-range'] = r.pick([...TAG_LISTS, ...DATES]);
  if (r.chance(0.2))
    headers.range = r.pick([
      'bytes=0-3',
      'bytes=-2',
      'bytes=5-1',
      'bytes=abc',
      'bytes=0-1,3-4',
      'items=0-1',
      'bytes=99999999999999999999-',
    ]);
  if (r.chance(0.15)) headers.slug = r.text(r.int(300), HEADER_TEXT);
  if (r.chance(0.15))
    headers['idempotency-key'] = r.pick([`"${r.text(10, 'abc')}"`, '""', '"x', r.text(300, 'ab'), 'plain']);
  if (r.chance(0.15))
    headers['content-encoding'] = r.pick(['gzip', 'br', 'deflate', 'identity', 'x-garbage']);
  if (r.chance(0.1)) headers['accept-encoding'] = r.pick(['gzip', '*', 'br;q=0']);
  if (r.chance(0.1)) headers['x-request-id'] = r.text(r.int(300), HEADER_TEXT);
  if (r.chance(0.05)) headers['last-event-id'] = r.text(20, HEADER_TEXT);
  // The resumable-upload draft's fields: a PUT with a Boolean Upload-Complete becomes an upload.
  if (r.chance(0.15)) headers['upload-complete'] = r.pick(['?1', '?0', '?2', 'true', '?1;a', '']);
  if (r.chance(0.1))
    headers['upload-length'] = r.pick(['0', '3', '-1', '999999999999999', '9999999999999999', 'x']);
  if (r.chance(0.05)) headers['upload-offset'] = r.pick(['0', '3', '-1', 'x']);
  if (r.chance(0.1)) headers['upload-draft-interop-version'] = r.pick(['8', '7', 'x']);
  return headers;
}

/** Headers sent more than once: singletons (which must be refused) and lists (which may repeat). */
function randomHeaderLists(r: Random): string[] | undefined {
  if (!r.chance(0.15)) return undefined;
  return Array.from({ length: 1 + r.int(3) }, () =>
    r.pick([
      `Idempotency-Key: "${r.text(6, 'abc')}"`,
      `Authorization: Bearer ${r.chance(0.5) ? token : 'pst_other'}`,
      `Content-Type: ${r.pick(['application/json', 'text/plain', ''])}`,
      `Slug: ${r.text(8, 'abc')}`,
      `X-Request-Id: ${r.text(8, 'abc')}`,
      `Range: bytes=${r.int(10)}-`,
      `If-Match: "${r.text(4, 'ab')}"`,
      `If-None-Match: "${r.text(4, 'ab')}", *`,
      `Accept: ${r.pick(['*/*', 'application/json', ''])}`,
    ]),
  );
}

function randomBody(r: Random): Buffer | undefined {
  const kind = r.int(8);
  if (kind === 0) return undefined;
  if (kind === 1) return Buffer.alloc(0);
  if (kind === 2) return r.bytes(r.int(4096));
  if (kind === 3) return Buffer.from(JSON.stringify({ name: r.text(10), n: r.int(100), tags: ['x'] }));
  if (kind === 4)
    return Buffer.from(
      r.pick(['{', '[]', 'null', '1', '"x"', '{"__proto__":{"a":1}}', '{"constructor":{}}']),
    );
  if (kind === 5) {
    // Deep nesting, at the top or inside the object a route expects (3 KB is enough to hurt).
    const depth = r.pick([33, 100, 1500, 5000]);
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    return Buffer.from(
      r.pick([nested, `{"a":${nested}}`, `{"tags":${nested}}`, `{"scopes":[{"modes":${nested}}]}`]),
    );
  }
  if (kind === 6)
    return Buffer.from(
      JSON.stringify({
        tags: Array.from({ length: r.int(50) }, () => r.text(8)),
        description: r.text(r.int(2000)),
      }),
    );
  return r.bytes(r.int(200_000));
}

type Answer =
  | { status: number; retryAfter?: string; detail?: string; contractBroken?: string }
  | { error: string };

/**
 * Sends one request over a fresh TCP connection exactly as given (no client library normalises or
 * refuses the method, path or header bytes) and reads one response: status, Retry-After, and the
 * `detail` of a 5xx problem. The connection stays open until the response is complete, so the server
 * reads (or discards) the whole body rather than resetting the connection under it.
 */
function send(request: FuzzRequest): Promise<Answer> {
  const url = new URL(stack.apiUrl);
  const body = request.body ?? Buffer.alloc(0);
  const head = [
    `${request.method} ${request.path} HTTP/1.1`,
    `host: ${url.host}`,
    ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`),
    ...(request.extra ?? []),
    ...(request.body === undefined ? [] : [`content-length: ${body.length}`]),
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ error: 'no answer within 20 s' }), 20_000);
    const parse = (closed: boolean) => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) finish({ error: `closed after ${received.length} bytes, without an answer` });
        return;
      }
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
      if (Number.isNaN(status)) {
        finish({ error: `not an HTTP answer: ${lines[0]?.slice(0, 80)}` });
        return;
      }
      const headers = new Map(
        lines
          .slice(1)
          .map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const rest = received.subarray(end + 4);
      const length = Number(headers.get('content-length') ?? Number.NaN);
      const bodyless = request.method === 'HEAD' || status === 204 || status === 304;
      const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
      const complete =
        closed ||
        bodyless ||
        (!Number.isNaN(length) && rest.length >= length) ||
        (chunked && rest.includes('0\r\n\r\n'));
      if (!complete) return;
      let detail: string | undefined;
      if (status >= 500 && !bodyless) {
        const text = rest.toString('utf8');
        try {
          detail = (JSON.parse(text) as { detail?: string }).detail;
        } catch {
          detail = text.slice(0, 200);
        }
      }
      const retryAfter = headers.get('retry-after');
      // The error contract: every answer has a request id, every error is a problem document.
      const contractBroken = !headers.has('x-request-id')
        ? 'no X-Request-Id'
        : status >= 400 && !/^application\/problem\+json/.test(headers.get('content-type') ?? '')
          ? `a ${status} that is not problem+json`
          : undefined;
      finish({
        status,
        ...(retryAfter === undefined ? {} : { retryAfter }),
        ...(detail === undefined ? {} : { detail }),
        ...(contractBroken === undefined ? {} : { contractBroken }),
      });
    };
    socket.on('data', (chunk: Buffer) => {
      if (received.length < 1_000_000) received = Buffer.concat([received, chunk]);
      parse(false);
    });
    socket.on('close', () => parse(true));
    socket.on('error', (error) => {
      if (received.length > 0) parse(true);
      else finish({ error: error.message });
    });
    socket.write(Buffer.from(head, 'latin1'));
    if (body.length > 0) socket.write(body);
  });
}

/**
 * 503 is honest when it says when to come back, or that a feature is off by configuration (events and
 * webhooks without NATS; a HEAD answer has no body to say so, so its path does).
 */
const honest503 = (request: FuzzRequest, answer: { status: number; retryAfter?: string; detail?: string }) =>
  answer.status === 503 &&
  (answer.retryAfter !== undefined ||
    answer.detail === EVENTS_NEED_NATS ||
    (request.method === 'HEAD' && /\/(webhooks|events)(\/|\?|$)/.test(request.path)));

const rssOf = (pid: number | undefined) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
};

describe('HTTP API fuzz', () => {
  it(`answers ${COUNT} random requests without a 5xx other than an honest 503, memory flat`, async () => {
    const r = prng(SEED);
    const requests: FuzzRequest[] = Array.from({ length: COUNT }, () => ({
      method: r.pick(METHODS),
      path: randomPath(r),
      headers: randomHeaders(r),
      body: undefined,
    }));
    for (const request of requests) {
      const extra = randomHeaderLists(r);
      if (extra !== undefined) request.extra = extra;
    }
    for (const request of requests) {
      request.body = request.method === 'GET' || request.method === 'HEAD' ? undefined : randomBody(r);
      // Deleting the fuzzer's own account would turn the rest of the run into 401s.
      if (request.method === 'DELETE' && /^\/v1\/users\/fuzzer\/?$/.test(request.path.split('?')[0] ?? '')) {
        request.method = 'GET';
        request.body = undefined;
      }
    }
    const processes = () => [stack.api, stack.broker, ...stack.workers];
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    let resets = 0;
    let next = 0;
    const run = async (until: number) => {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < until) {
            const i = next++;
            const request = requests[i] as FuzzRequest;
            const answer = await send(request);
            const key = 'error' in answer ? 'no answer' : String(answer.status);
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            const what = `#${i} ${request.method} ${request.path.slice(0, 120)} ${JSON.stringify(request.headers).slice(0, 200)} ${JSON.stringify(request.extra ?? [])} (${request.body?.length ?? 'no'} body bytes)`;
            if ('error' in answer) {
              // A body the server refused early may be reset under the client; a request without
              // one must always be answered.
              if ((request.body?.length ?? 0) > 0 && /ECONNRESET|EPIPE/.test(answer.error)) resets++;
              else failures.push(`${what}: ${answer.error}`);
            } else if (answer.status >= 500 && !honest503(request, answer)) {
              failures.push(`${what}: ${answer.status} ${answer.detail}`);
            } else if (answer.contractBroken !== undefined) {
              failures.push(`${what}: ${answer.contractBroken}`);
            }
          }
        }),
      );
    };
    await run(WARM_UP);
    const baseline = processes().map((p) => rssOf(p?.child.pid));
    await run(COUNT);
    const after = processes().map((p) => rssOf(p?.child.pid));

    expect(failures, `seed ${SEED}`).toEqual([]);
    for (const p of processes())
      expect({ name: p?.name, exit: p?.child.exitCode }).toEqual({ name: p?.name, exit: null });
    expect(resets).toBeLessThan(COUNT * 0.02);
    // Real answers, not just refusals at the door: the fuzz reaches the workers.
    const reached = ['200', '201', '204', '404', '409', '412'].reduce(
      (n, s) => n + (statuses.get(s) ?? 0),
      0,
    );
    expect(reached, JSON.stringify([...statuses])).toBeGreaterThan(COUNT * 0.1);
    const MiB = 1024 * 1024;
    after.forEach((rss, i) => {
      expect(rss - (baseline[i] ?? 0), `${processes()[i]?.name} RSS growth`).toBeLessThan(96 * MiB);
    });
    // And it still serves, the account it never held a token of untouched.
    const ok = await fetch(`${stack.apiUrl}/v1/users/keeper/files/docs/a.txt`, {
      headers: bearer(keeperToken),
    });
    expect([ok.status, await ok.text()]).toEqual([200, 'a file to find']);
  }, 240_000);
});

/**
 * Requests whose framing Node's parser must refuse, each built from a seeded template: Content-Length
 * with Transfer-Encoding, bad or twice-sent Content-Length, NUL and control bytes in headers, oversized
 * headers, bad chunking, malformed request lines, and what Node would answer bare or not at all (an
 * unknown Expect, CONNECT, no Host). Each must get a 4xx problem+json with X-Request-Id.
 */
function framingCase(r: Random): { name: string; bytes: Buffer } {
  const target = r.pick(['/healthz', '/v1/users/fuzzer', '/v1/users/fuzzer/files/framed.txt', '/nowhere']);
  const method = r.pick(['GET', 'PUT', 'POST', 'PATCH']);
  const line = `${method} ${target} HTTP/1.1`;
  const common = ['Host: fuzz', ...(r.chance(0.5) ? [`Authorization: Bearer ${token}`] : [])];
  const body = Buffer.from(r.text(r.int(20), 'abc'));
  const kind = r.int(10);
  const build = (name: string, headers: string[], tail: Buffer | string = '') => ({
    name,
    bytes: Buffer.concat([
      Buffer.from(`${[line, ...common, ...headers].join('\r\n')}\r\n\r\n`, 'latin1'),
      typeof tail === 'string' ? Buffer.from(tail, 'latin1') : tail,
    ]),
  });
  const shuffle = (items: string[]) => (r.chance(0.5) ? items : [...items].reverse());
  switch (kind) {
    case 0:
      return build(
        'Content-Length with Transfer-Encoding',
        shuffle([
          `${r.pick(['Content-Length', 'content-length', 'CONTENT-LENGTH'])}: ${body.length + r.int(3)}`,
          `${r.pick(['Transfer-Encoding', 'transfer-encoding'])}: ${r.pick(['chunked', 'Chunked', 'gzip, chunked'])}`,
        ]),
        `${body.length.toString(16)}\r\n${body.toString('latin1')}\r\n0\r\n\r\n`,
      );
    case 1:
      return build(
        'a bad Content-Length',
        [
          `Content-Length: ${r.pick(['-1', 'abc', '1.5', '0x10', '1 2', '+5', '99999999999999999999999', ''])}`,
        ],
        body,
      );
    case 2:
      return build(
        'two different Content-Lengths',
        [`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1 + r.int(5)}`],
        body,
      );
    case 3: {
      const bad = r.pick(['\u0000', '\u0001', '\u0007', '\u000b', '\u001f']);
      const header = r.chance(0.5) ? `X-Fuzz: a${bad}b` : `X-F${bad}z: b`;
      return build('a control byte in a header', [header]);
    }
    case 4: {
      const big = r.chance(0.5);
      const headers = big
        ? [`X-Big: ${'a'.repeat(17_000 + r.int(50_000))}`]
        : Array.from({ length: 400 + r.int(400) }, (_, i) => `X-Many-${i}: ${'b'.repeat(40)}`);
      return build('headers over the limit', headers);
    }
    case 5:
      return build(
        'a bad chunk',
        ['Transfer-Encoding: chunked'],
        `${r.pick(['zz', '-1', `1;${'e'.repeat(20_000)}`, 'fffffffffffffffffff'])}\r\n${body.toString('latin1')}\r\n0\r\n\r\n`,
      );
    case 6:
      return build('Transfer-Encoding other than chunked last', [
        `Transfer-Encoding: ${r.pick(['chunked, gzip', 'gzip', 'identity', 'x-fuzz'])}`,
      ]);
    case 7:
      return build('a space before the colon', [`X-Fuzz${r.pick([' ', '\t'])}: b`]);
    case 8:
      return r.pick([
        build('an expectation other than 100-continue', [
          `Expect: ${r.pick(['fuzz', '200-ok', '101-upgrade'])}`,
        ]),
        {
          name: 'CONNECT',
          bytes: Buffer.from(
            `CONNECT ${r.pick(['example.com:443', '127.0.0.1:22'])} HTTP/1.1\r\nHost: x\r\n\r\n`,
          ),
        },
        {
          name: 'no Host',
          bytes: Buffer.from(`${line}\r\n${r.chance(0.5) ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`),
        },
      ]);
    default:
      return {
        name: 'a malformed request line',
        bytes: Buffer.from(
          `${r.pick([`${method} ${target} HTTP/1.10`, `${method} ${target} HTTP/9.x`, `G(T ${target} HTTP/1.1`, `${method} ${target}\u0000 HTTP/1.1`])}\r\nHost: fuzz\r\n\r\n`,
          'latin1',
        ),
      };
  }
}

describe('HTTP framing fuzz', () => {
  const FRAMING_COUNT = Math.max(100, Math.floor(COUNT / 8));
  it(`answers ${FRAMING_COUNT} malformed framings with a 4xx problem+json and X-Request-Id`, async () => {
    const r = prng(SEED + 1);
    const cases = Array.from({ length: FRAMING_COUNT }, () => framingCase(r));
    const failures: string[] = [];
    const seen = new Map<string, Set<number>>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) {
          const i = next++;
          const { name, bytes } = cases[i] as { name: string; bytes: Buffer };
          const answer = await rawExchange(stack.apiUrl, bytes);
          const what = `#${i} ${name}: ${bytes
            .subarray(0, 160)
            .toString('latin1')
            .replace(/[\r\n]+/g, ' | ')}`;
          if ('error' in answer) {
            failures.push(`${what}: ${answer.error}`);
            continue;
          }
          seen.set(name, (seen.get(name) ?? new Set()).add(answer.status));
          const problemJson = /^application\/problem\+json/.test(answer.headers['content-type'] ?? '');
          if (
            answer.status < 400 ||
            answer.status >= 500 ||
            !problemJson ||
            !answer.headers['x-request-id']
          ) {
            failures.push(
              `${what}: ${answer.status} ${answer.headers['content-type']} ${answer.body.slice(0, 120)}`,
            );
          }
        }
      }),
    );
    expect(failures, `seed ${SEED + 1}`).toEqual([]);
    expect(seen.size, JSON.stringify([...seen].map(([k, v]) => [k, [...v]]))).toBe(12);
    for (const p of [stack.api, stack.broker, ...stack.workers])
      expect({ name: p?.name, exit: p?.child.exitCode }).toEqual({ name: p?.name, exit: null });
  }, 120_000);
});
