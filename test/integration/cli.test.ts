/** The command line against a running stack (real processes, filesystem storage). */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { cliIo } from '../helpers/cli-io.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let dir: string;
let stack: LocalStack;
let token = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-cli-'));
  stack = await startTestStack({ workers: 1, env: { DATA_DIR: join(dir, 'data') } });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = cliIo();
  const code = await runCli(
    ['--url', stack.apiUrl, ...(token === '' ? [] : ['--token', token]), ...args],
    io.streams,
  );
  return { code, out: io.out(), err: io.err() };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('podstore CLI', () => {
  it('manages users, printing the sign-up token once', async () => {
    const created = await cli('--json', 'users', 'create', 'carol', '{"city":"Oslo"}');
    expect(created.code).toBe(0);
    const body = JSON.parse(created.out) as { token: string; profile: object };
    expect(body.profile).toEqual({ city: 'Oslo' });
    expect(body.token).toMatch(/^pst_/);
    token = body.token;
    const again = await cli('users', 'create', 'carol');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^412/);
    const patched = await cli('--json', 'users', 'patch', 'carol', '{"age":40}');
    expect(JSON.parse(patched.out)).toEqual({ city: 'Oslo', age: 40 });
  });

  it('uploads with a progress bar, downloads, lists, stats and removes files', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    const local = join(dir, 'scan.bin');
    await writeFile(local, data);
    const put = await cli(
      '--json',
      '--progress',
      'put',
      local,
      'carol/scans/scan.bin',
      '--type',
      'application/x-scan',
    );
    expect(put.code).toBe(0);
    expect(JSON.parse(put.out)).toMatchObject({
      path: 'scans/scan.bin',
      size: data.length,
      sha256: sha256(data),
      created: true,
    });
    expect(put.err).toMatch(/put scans\/scan\.bin \[#+\] 100%/);

    const saved = join(dir, 'back.bin');
    expect((await cli('--no-progress', 'get', 'carol/scans/scan.bin', saved)).code).toBe(0);
    expect(sha256(await readFile(saved))).toBe(sha256(data));

    const listed = JSON.parse((await cli('--json', 'ls', 'carol/scans/')).out) as {
      name: string;
      size: number;
    }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'scan.bin', kind: 'file', size: data.length })]);
    const root = await cli('ls', 'carol/');
    expect(root.out.trim()).toBe('scans/');

    const stat = JSON.parse((await cli('--json', 'stat', 'carol/scans/scan.bin')).out) as {
      contentType: string;
    };
    expect(stat.contentType).toBe('application/x-scan');

    expect((await cli('rm', 'carol/scans/scan.bin')).code).toBe(0);
    const gone = await cli('--json', 'stat', 'carol/scans/scan.bin');
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.err)).toMatchObject({ status: 404 });
  });

  it('exits 2 on bad usage', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('put', 'only-one-arg')).code).toBe(2);
    expect((await cli('get', 'no-slash')).code).toBe(2);
  });
});
