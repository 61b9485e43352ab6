/**
 * `npm start` as a person runs it: the local runner (deploy/local/main.ts) as one process. With a
 * nats-server it can find (here NATS_BIN, as the tests' setup exports it) and no NATS_URL, it starts its
 * own, so what needs NATS works out of the box: a written file is processed and found by search. Ctrl-C
 * (SIGINT) stops the whole stack, its nats-server last, and the runner exits 0. With LOCAL_NATS=off it
 * runs without NATS and says so, and search answers processing_off.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/free-port.ts';
import { bearer, signUp } from '../helpers/accounts.ts';

interface Runner {
  child: ChildProcess;
  apiUrl: string;
  output: () => string;
}

async function startRunner(dir: string, env: Record<string, string>): Promise<Runner> {
  const apiPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'deploy/local/main.ts', '--workers', '1'], {
    env: {
      ...process.env,
      NATS_URL: '',
      DATA_DIR: path.join(dir, 'data'),
      LOCAL_NATS_DIR: path.join(dir, 'data-nats'),
      API_PORT: String(apiPort),
      BROKER_FRONTEND_PORT: String(await freePort()),
      BROKER_BACKEND_PORT: String(await freePort()),
      BROKER_METRICS_PORT: String(await freePort()),
      WORKER_METRICS_PORT: String(await freePort()),
      HEARTBEAT_INTERVAL_MS: '250',
      LOG_PRETTY: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 60_000;
  while (!/podstore is up/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the runner did not come up:\n${output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, apiUrl: `http://127.0.0.1:${apiPort}`, output: () => output };
}

async function stopRunner(runner: Runner | undefined): Promise<number | null> {
  if (runner === undefined || runner.child.exitCode !== null) return runner?.child.exitCode ?? null;
  const exited = once(runner.child, 'exit');
  runner.child.kill('SIGINT');
  const timer = setTimeout(() => runner.child.kill('SIGKILL'), 30_000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}

const listening = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url.replace(/^nats:/, 'http:'));
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'podstore-runner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm start (the local runner)', () => {
  it('starts a nats-server of its own, so files are processed and found; Ctrl-C stops it all', async () => {
    const runner = await startRunner(path.join(dir, 'with'), {});
    try {
      const natsUrl = /"nats":"(nats:\/\/[^"]+)"/.exec(runner.output())?.[1];
      expect(natsUrl, runner.output().slice(-2000)).toBeDefined();
      expect(await listening(natsUrl as string)).toBe(true);

      const token = await signUp(runner.apiUrl, 'walker');
      const file = `${runner.apiUrl}/v1/users/walker/files/notes/lab.txt`;
      const put = await fetch(file, {
        method: 'PUT',
        headers: { ...bearer(token), 'content-type': 'text/plain' },
        body: 'ferritin within range',
      });
      expect(put.status).toBe(201);
      let found: { items: { path: string }[] } = { items: [] };
      const deadline = Date.now() + 30_000;
      while (found.items.length === 0 && Date.now() < deadline) {
        const res = await fetch(`${runner.apiUrl}/v1/users/walker/search?q=ferritin`, {
          headers: bearer(token),
        });
        expect(res.status).toBe(200);
        found = (await res.json()) as typeof found;
        if (found.items.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(found.items.map((item) => item.path)).toEqual(['notes/lab.txt']);
      const meta = (await (await fetch(`${file}?metadata`, { headers: bearer(token) })).json()) as {
        processing?: { state: string };
      };
      expect(meta.processing?.state).toBe('done');

      expect(await stopRunner(runner)).toBe(0);
      expect(await listening(natsUrl as string)).toBe(false);
      // Its JetStream data stays for the next start.
      expect((await readdir(path.join(dir, 'with', 'data-nats'))).length).toBeGreaterThan(0);
    } finally {
      await stopRunner(runner);
    }
  });

  it('runs without NATS when told, and says so', async () => {
    const runner = await startRunner(path.join(dir, 'without'), { LOCAL_NATS: 'off' });
    try {
      expect(runner.output()).toMatch(/running without NATS: no events, webhooks or file processing/);
      const token = await signUp(runner.apiUrl, 'offline');
      const res = await fetch(`${runner.apiUrl}/v1/users/offline/search?q=anything`, {
        headers: bearer(token),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe('processing_off');
      expect(await stopRunner(runner)).toBe(0);
    } finally {
      await stopRunner(runner);
    }
  });
});
