/** `podstore search` and the SDK's search(): the request it sends, what it prints, bad arguments. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { markedSnippet } from '../../client/cli/search-command.ts';
import { runCli } from '../../client/cli.ts';

const HIT = {
  path: 'medical/lab.txt',
  name: 'lab.txt',
  score: 2.5,
  snippet: { field: 'text', text: 'the haemoglobin\nwas fine', highlights: [{ start: 4, end: 15 }] },
  contentType: 'text/plain',
  size: 24,
  updatedAt: '2026-11-30T12:00:00.000Z',
  etag: 'abc.1',
  author: 'alice',
};

async function run(argv: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errors: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.on('data', (c: Buffer) => errors.push(c));
  const urls: string[] = [];
  const code = await runCli(
    argv,
    { stdin: new PassThrough().end(), stdout: out, stderr: err },
    {
      env: { PODSTORE_URL: 'http://api.test' },
      fetch: async (input) => {
        urls.push(String(input));
        return new Response(JSON.stringify({ items: [HIT] }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      },
    },
  );
  return { code, out: Buffer.concat(chunks).toString(), err: Buffer.concat(errors).toString(), urls };
}

describe('podstore search', () => {
  it('asks the search route and prints path, score and the snippet with its matches marked', async () => {
    const r = await run(['search', 'alice', 'lab result', '--limit', '5']);
    expect(r.code).toBe(0);
    expect(r.urls).toEqual(['http://api.test/v1/users/alice/search?q=lab+result&limit=5']);
    expect(r.out).toBe('medical/lab.txt\t2.5\tthe [haemoglobin] was fine\n');
  });

  it('prints the whole answer with --json', async () => {
    const r = await run(['--json', 'search', 'alice/', 'x']);
    expect(r.code).toBe(0);
    expect(r.urls).toEqual(['http://api.test/v1/users/alice/search?q=x']);
    expect(JSON.parse(r.out)).toEqual({ items: [HIT] });
  });

  it('refuses a bad limit or owner before sending anything (exit code 2)', async () => {
    for (const argv of [
      ['search', 'alice', 'x', '--limit', '0'],
      ['search', 'alice', 'x', '--limit', '51'],
      ['search', 'alice', 'x', '--limit', 'many'],
      ['search', 'alice/medical', 'x'],
      ['search', 'alice'],
      ['ls', 'alice/', '--limit', '3'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.urls).toEqual([]);
    }
  });

  it('marks the snippet’s highlights, and shows nothing without a snippet', () => {
    expect(
      markedSnippet({
        field: 'name',
        text: 'lab-result.pdf',
        highlights: [
          { start: 0, end: 3 },
          { start: 4, end: 10 },
        ],
      }),
    ).toBe('[lab]-[result].pdf');
    expect(markedSnippet(null)).toBe('');
  });
});
