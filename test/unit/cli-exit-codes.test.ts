/**
 * The CLI's exit codes and what it prints for each: 0 and the result on stdout; 1 and the server's
 * problem (detail, request id) or the reason it could not be reached on stderr; 2 and a short usage
 * error with a hint, nothing sent. The server is a stand-in fetch: this is the CLI's logic only
 * (test/integration/cli-bin.test.ts runs the real command against a real stack).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli.ts';
import { cliIo } from '../helpers/cli-io.ts';

const TOKEN = 'pst_unit-test-secret-token';

interface Call {
  url: string;
  method: string;
  authorization: string | null;
}

type Answer = (call: Call) => Response;

async function run(argv: string[], answer: Answer, env: Record<string, string> = {}) {
  const io = cliIo();
  const calls: Call[] = [];
  const code = await runCli(argv, io.streams, {
    env,
    fetch: async (input, init) => {
      const call = {
        url: String(input),
        method: init?.method ?? 'GET',
        authorization: new Headers(init?.headers).get('authorization'),
      };
      calls.push(call);
      return answer(call);
    },
  });
  return { code, out: io.out(), err: io.err(), calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

const notFound: Answer = () =>
  json(
    404,
    {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no file medical/x.pdf',
      code: 'not_found',
    },
    { 'content-type': 'application/problem+json', 'x-request-id': 'req-404-abc' },
  );

const unreachable: Answer = () => {
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });
};

describe('CLI exit codes', () => {
  it('0 on success, the result on stdout, nothing on stderr', async () => {
    const r = await run(['ready'], () => json(200, { status: 'ready', workers: 3 }));
    expect(r).toMatchObject({ code: 0, out: 'ready: 3 workers\n', err: '' });
    const j = await run(['--json', 'ready'], () => json(200, { status: 'ready', workers: 3 }));
    expect(JSON.parse(j.out)).toEqual({ status: 'ready', workers: 3 });
  });

  it('1 when the server answers an error: status, title, detail, code and request id on stderr', async () => {
    const r = await run(['stat', 'alice/medical/x.pdf'], notFound);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe('404 Not Found: no file medical/x.pdf [not_found] (request id req-404-abc)\n');
    const j = await run(['--json', 'stat', 'alice/medical/x.pdf'], notFound);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.err)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no file medical/x.pdf',
      code: 'not_found',
      requestId: 'req-404-abc',
    });
  });

  it('1 when the answer is an error without a problem document', async () => {
    const r = await run(['health'], () => new Response('bad gateway', { status: 502 }));
    expect(r.code).toBe(1);
    expect(r.err).toBe('502: HTTP 502 [bad_gateway]\n');
  });

  it('1 when the server cannot be reached, naming where and why', async () => {
    const r = await run(['--url', 'http://127.0.0.1:9', 'health'], unreachable);
    expect(r).toMatchObject({
      code: 1,
      out: '',
      err: 'podstore: cannot reach http://127.0.0.1:9: ECONNREFUSED\n',
    });
    const j = await run(['--json', '--url', 'http://127.0.0.1:9', 'health'], unreachable);
    expect(JSON.parse(j.err)).toEqual({ error: 'cannot reach http://127.0.0.1:9: ECONNREFUSED' });
  });

  it('1 when a local file cannot be read, before anything is sent', async () => {
    const r = await run(['put', '/nonexistent/podstore-cli-test.bin', 'alice/x.bin'], notFound);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^podstore: ENOENT: no such file or directory/);
    expect(r.calls).toEqual([]);
  });

  it.each([
    [['frobnicate']],
    [['put', 'only-one']],
    [['get', 'no-slash']],
    [['users', 'put', 'alice', '{not json']],
    [['users', 'patch', 'alice', '[1,2]']],
    [['ls', 'alice/', '--type', 'x/y']],
    [['--url', 'ftp://host', 'health']],
  ])('2 on bad usage (%j), with a hint and no request', async (argv) => {
    const r = await run(argv, notFound);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^podstore: .+\nTry 'podstore ([a-z]+ )*--help'\.\n$/);
    expect(r.calls).toEqual([]);
  });
});

describe('CLI settings: URL and token', () => {
  it('defaults to http://127.0.0.1:8080 and no token', async () => {
    const r = await run(['health'], () => new Response('ALIVE host'));
    expect(r.calls).toEqual([{ url: 'http://127.0.0.1:8080/healthz', method: 'GET', authorization: null }]);
  });

  it('reads PODSTORE_URL and PODSTORE_TOKEN; --url and --token win over them', async () => {
    const env = { PODSTORE_URL: 'https://pods.example.org/base/', PODSTORE_TOKEN: TOKEN };
    const fromEnv = await run(['health'], () => new Response('ALIVE'), env);
    expect(fromEnv.calls).toEqual([
      { url: 'https://pods.example.org/base/healthz', method: 'GET', authorization: `Bearer ${TOKEN}` },
    ]);
    const fromFlags = await run(
      ['--url', 'http://localhost:1234', '--token', 'pst_other', 'health'],
      () => new Response('ALIVE'),
      env,
    );
    expect(fromFlags.calls).toEqual([
      { url: 'http://localhost:1234/healthz', method: 'GET', authorization: 'Bearer pst_other' },
    ]);
    const empty = await run(['health'], () => new Response('ALIVE'), {
      PODSTORE_URL: '',
      PODSTORE_TOKEN: '',
    });
    expect(empty.calls).toEqual([
      { url: 'http://127.0.0.1:8080/healthz', method: 'GET', authorization: null },
    ]);
  });

  it('never prints the token nor puts it in a URL, whatever happens', async () => {
    const env = { PODSTORE_TOKEN: TOKEN, PODSTORE_URL: 'http://pods.example.org' };
    const runs = [
      await run(['stat', 'alice/x'], notFound, env),
      await run(['--json', 'stat', 'alice/x'], notFound, env),
      await run(['health'], unreachable, env),
      await run(['--json', 'health'], unreachable, env),
      await run(['ready'], () => json(200, { status: 'ready', workers: 1 }), env),
      await run(['frobnicate'], notFound, env),
      await run(['--help'], notFound, env),
      await run(['stat', '--help'], notFound, env),
    ];
    for (const r of runs) {
      expect(r.out).not.toContain(TOKEN);
      expect(r.err).not.toContain(TOKEN);
      for (const call of r.calls) expect(call.url).not.toContain(TOKEN);
    }
    expect(runs.flatMap((r) => r.calls).length).toBeGreaterThan(3);
  });

  it('refuses a URL with a user name or password (2), without echoing it', async () => {
    const r = await run(['health'], notFound, { PODSTORE_URL: `https://alice:${TOKEN}@pods.example.org` });
    expect(r.code).toBe(2);
    expect(r.err).toContain('PODSTORE_URL must not carry a user name or password');
    expect(r.err).not.toContain(TOKEN);
    expect(r.calls).toEqual([]);
    const notUrl = await run(['--url', TOKEN, 'health'], notFound);
    expect(notUrl.code).toBe(2);
    expect(notUrl.err).toContain('--url is not a URL');
    expect(notUrl.err).not.toContain(TOKEN);
  });

  it('refuses a token that cannot go in a header (2), without echoing it', async () => {
    for (const bad of [`${TOKEN}\n`, `${TOKEN} x`, `${TOKEN}é`]) {
      const r = await run(['health'], notFound, { PODSTORE_TOKEN: bad });
      expect(r.code).toBe(2);
      expect(r.err).toContain('the token has characters a token cannot have');
      expect(r.err).not.toContain(TOKEN);
      expect(r.calls).toEqual([]);
    }
  });

  it('warns when the token would cross a network over plain http, and only then', async () => {
    const warning = /^podstore: warning: the token goes to pods\.example\.org over plain http/;
    expect(
      (
        await run(['health'], () => new Response('ALIVE'), {
          PODSTORE_TOKEN: TOKEN,
          PODSTORE_URL: 'http://pods.example.org',
        })
      ).err,
    ).toMatch(warning);
    for (const url of [
      'https://pods.example.org',
      'http://127.0.0.1:8080',
      'http://localhost:8080',
      'http://[::1]:8080',
    ])
      expect(
        (await run(['health'], () => new Response('ALIVE'), { PODSTORE_TOKEN: TOKEN, PODSTORE_URL: url }))
          .err,
      ).toBe('');
    expect(
      (await run(['health'], () => new Response('ALIVE'), { PODSTORE_URL: 'http://pods.example.org' })).err,
    ).toBe('');
  });
});
