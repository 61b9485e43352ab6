/**
 * The `podstore` command as a user runs it: built the way `npm install` builds it (the prepare script),
 * then started with plain `node` on the package's bin (no TypeScript loader), and once through `npx
 * podstore` from the repository root, against a real stack (broker, worker, api as processes).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../client/cli/catalogue.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { logRecords, startTestStack } from '../helpers/test-stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const bin = join(root, pkg.bin.podstore ?? '');

interface Run {
  code: number | null;
  out: Buffer;
  err: string;
}

/** Runs a command in the repository root with only PATH, HOME and the given variables set. */
function exec(command: string, args: string[], env: Record<string, string>, stdin?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, out: Buffer.concat(out), err: Buffer.concat(err).toString() }),
    );
    child.stdin.end(stdin);
  });
}

let dir: string;
let stack: LocalStack;
let token = '';
const env = () => ({ PODSTORE_URL: stack.apiUrl, ...(token === '' ? {} : { PODSTORE_TOKEN: token }) });
const podstore = (args: string[], stdin?: Buffer) => exec(process.execPath, [bin, ...args], env(), stdin);
/** Every run after sign-up, to check that none printed the token. */
const runs: Run[] = [];

beforeAll(async () => {
  // What `npm install` does in a fresh clone: the prepare script compiles the CLI to dist/.
  const built = await exec('npm', ['run', '--silent', 'prepare'], {});
  expect(built.err).toBe('');
  expect(built.code).toBe(0);
  dir = await mkdtemp(join(tmpdir(), 'podstore-cli-bin-'));
  stack = await startTestStack({ workers: 1, env: { DATA_DIR: join(dir, 'data') } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the podstore command (package.json bin, plain node)', () => {
  it('is the bin named podstore, a JavaScript file node runs as it is', () => {
    expect(pkg.bin).toEqual({ podstore: 'bin/podstore.js' });
  });

  it('--help exits 0 and lists every subcommand', async () => {
    const help = await podstore(['--help']);
    expect(help.code).toBe(0);
    expect(help.err).toBe('');
    const text = help.out.toString();
    for (const command of COMMANDS) expect(text).toContain(`  ${command.name} `);
    expect(text).toContain('exit codes:');
    const put = await podstore(['put', '--help']);
    expect(put.code).toBe(0);
    expect(put.out.toString()).toContain('usage: podstore put <file|-> <owner>/<path>');
  });

  it('an unknown subcommand exits 2 with a short error and a hint on stderr', async () => {
    const r = await podstore(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.out.length).toBe(0);
    expect(r.err).toBe("podstore: unknown command 'frobnicate'\nTry 'podstore --help'.\n");
  });

  it('signs up, then puts and gets a file: the bytes round-trip through the command', async () => {
    const created = await podstore(['--json', 'users', 'create', 'dora', '{"city":"Oslo"}']);
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    token = (JSON.parse(created.out.toString()) as { token: string }).token;
    expect(token).toMatch(/^pst_/);

    const data = randomBytes(3 * 1024 * 1024 + 17);
    const local = join(dir, 'scan.bin');
    await writeFile(local, data);
    const put = await podstore([
      '--json',
      'put',
      local,
      'dora/scans/scan.bin',
      '--type',
      'application/x-scan',
    ]);
    runs.push(put);
    expect(put.err).toBe('');
    expect(put.code).toBe(0);
    expect(JSON.parse(put.out.toString())).toMatchObject({
      path: 'scans/scan.bin',
      size: data.length,
      sha256: sha256(data),
    });

    const saved = join(dir, 'back.bin');
    const get = await podstore(['get', 'dora/scans/scan.bin', saved]);
    runs.push(get);
    expect(get.code).toBe(0);
    expect(sha256(await readFile(saved))).toBe(sha256(data));

    // Through the pipes: standard input up, standard output down.
    const piped = randomBytes(200_000);
    const up = await podstore(['put', '-', 'dora/notes/piped.bin'], piped);
    runs.push(up);
    expect(up.code).toBe(0);
    const down = await podstore(['get', 'dora/notes/piped.bin']);
    runs.push(down);
    expect(down.code).toBe(0);
    expect(down.err).toBe('');
    expect(sha256(down.out)).toBe(sha256(piped));
  });

  it('a 404 exits 1 with the problem detail and the request id on stderr', async () => {
    expect(token).not.toBe('');
    const r = await podstore(['get', 'dora/scans/missing.bin', join(dir, 'never.bin')]);
    runs.push(r);
    expect(r.code).toBe(1);
    expect(r.out.length).toBe(0);
    const line = /^404 Not Found: (.+?)(?: \[[a-z_]+\])? \(request id (\S+)\)\n$/.exec(r.err);
    expect(line, r.err).not.toBeNull();
    expect(line?.[1]).toMatch(/scans\/missing\.bin/);
    // The request id is the one the api logged for this request.
    const id = line?.[2] ?? '';
    await expect
      .poll(() => logRecords(stack.api?.lines ?? []).some((record) => record.requestId === id), {
        timeout: 5000,
      })
      .toBe(true);
    await expect(readFile(join(dir, 'never.bin'))).rejects.toThrow(/ENOENT/);

    const json = await podstore(['--json', 'stat', 'dora/scans/missing.bin']);
    runs.push(json);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.err)).toMatchObject({ status: 404, requestId: expect.any(String) });
  });

  it('never prints the token it sends', () => {
    expect(runs.length).toBeGreaterThanOrEqual(5);
    for (const r of runs) {
      expect(r.out.includes(token)).toBe(false);
      expect(r.err).not.toContain(token);
    }
  });

  it('runs as `npx podstore` from the repository root', async () => {
    const r = await exec('npx', ['--yes', 'podstore', 'ls', '--help'], env());
    expect(r.code).toBe(0);
    expect(r.out.toString()).toContain('usage: podstore ls <owner>/[<folder>/]');
    const unknown = await exec('npx', ['--yes', 'podstore', 'nope'], env());
    expect(unknown.code).toBe(2);
  });
});
