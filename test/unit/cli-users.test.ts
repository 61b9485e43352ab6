/** `users create` and `users put`: the token of an account they create is printed, once. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli.ts';

async function run(argv: string[], answer: () => Response) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const sent: { method: string; headers: Headers; body: string }[] = [];
  const code = await runCli(
    argv,
    { stdin: new PassThrough().end(), stdout: out, stderr: new PassThrough() },
    {
      env: {},
      fetch: async (_input, init) => {
        sent.push({
          method: init?.method ?? 'GET',
          headers: new Headers(init?.headers),
          body: String(init?.body),
        });
        return answer();
      },
    },
  );
  return { code, out: Buffer.concat(chunks).toString(), sent };
}

const created = () =>
  new Response(JSON.stringify({ profile: { city: 'Oslo' }, token: 'pst_new-account-token' }), {
    status: 201,
    headers: { 'content-type': 'application/json' },
  });

describe('CLI users', () => {
  it('users create asks for a new account only (If-None-Match: *) and prints its token', async () => {
    const r = await run(['users', 'create', 'erin', '{"city":"Oslo"}'], created);
    expect(r.code).toBe(0);
    expect(r.out).toBe('created erin\ntoken: pst_new-account-token\n');
    expect(r.sent[0]?.headers.get('if-none-match')).toBe('*');
    expect(JSON.parse(r.sent[0]?.body ?? '')).toEqual({ city: 'Oslo' });
  });

  it('users put that creates the account prints its token instead of losing it', async () => {
    const r = await run(['--json', 'users', 'put', 'erin', '{"city":"Oslo"}'], created);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      username: 'erin',
      profile: { city: 'Oslo' },
      token: 'pst_new-account-token',
    });
  });

  it('users put that replaces a profile prints the profile', async () => {
    const r = await run(
      ['users', 'put', 'erin', '{"city":"Bergen"}'],
      () =>
        new Response(JSON.stringify({ city: 'Bergen' }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ city: 'Bergen' });
  });
});
