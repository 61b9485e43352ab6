/**
 * Garbage on the ZeroMQ sockets, a dead worker, and a graceful stop: the processes stay up, say what
 * happened, and keep serving. Filesystem storage, real processes, loopback only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dealer, Router } from 'zeromq';
import { freePort } from '../../deploy/local/free-port.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { pack } from '../../protocol/codec.ts';
import { encodeCommandBody } from '../../protocol/command-body.ts';
import {
  decodeClientMessage,
  decodeClientReply,
  decodeWorkerMessage,
  encodeClientRequest,
  encodeWorkerRequest,
  type RequestHeader,
} from '../../protocol/frames.ts';
import { decodeOutcome } from '../../protocol/outcome.ts';
import { ActingFetch } from '../helpers/accounts.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const fetch = new ActingFetch().fetch;

let dataDir: string;
let stack: LocalStack;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'podstore-robust-'));
  stack = await startTestStack({ workers: 2, env: { DATA_DIR: dataDir } });
});

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

let seed = 7;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}
const randomBytes = (max: number) =>
  Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)));

const usersGet = (id: string): RequestHeader => ({
  id,
  service: 'users',
  command: 'users.get',
  deadline: Date.now() + 5000,
  idempotent: true,
  requestId: id,
});

/** Random, truncated, wrong-version and out-of-order messages, some close to valid. */
function garbage(protocol: 'PSC1' | 'PSW1'): Buffer[][] {
  const header = usersGet('g');
  const messages: Buffer[][] = [
    [],
    [Buffer.alloc(0)],
    [Buffer.from(protocol)],
    [Buffer.from(protocol.replace('1', '9')), Buffer.of(2), pack(header), Buffer.alloc(0)],
    [Buffer.from(protocol), Buffer.of(0xff)],
    [Buffer.from(protocol), Buffer.of(2), Buffer.from('not msgpack'), Buffer.alloc(0)],
    [Buffer.from(protocol), Buffer.of(2), pack({ ...header, deadline: 'never' }), Buffer.alloc(0)],
    [Buffer.from(protocol), Buffer.of(1), pack({ services: [], capacity: -1 })],
    [Buffer.from(protocol), Buffer.of(4), Buffer.from('c'), pack({ id: 'unknown' }), Buffer.alloc(0)],
    [Buffer.from(protocol), Buffer.of(5)],
    [Buffer.from(protocol), Buffer.of(2), Buffer.alloc(1 << 20, 0xaa), Buffer.alloc(0)],
  ];
  for (let i = 0; i < 400; i++) {
    const n = Math.floor(random() * 6);
    messages.push(
      Array.from({ length: n }, (_, j) =>
        j === 0 && random() < 0.6
          ? Buffer.from(protocol)
          : j === 1
            ? Buffer.of(Math.floor(random() * 8))
            : randomBytes(64),
      ),
    );
  }
  // Random bytes can happen to spell a valid command (a READY, a DISCONNECT): those are not garbage.
  const decode = protocol === 'PSC1' ? decodeClientMessage : decodeWorkerMessage;
  const random_ = messages.slice(11).filter((m) => {
    try {
      decode(m);
      return false;
    } catch {
      return true;
    }
  });
  return [...messages.slice(0, 11), ...random_].filter((m) => m.length > 0);
}

async function userRoundTrip(name: string) {
  const put = await fetch(`${stack.apiUrl}/v1/users/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(put.status).toBe(201);
  const got = await fetch(`${stack.apiUrl}/v1/users/${name}`);
  expect(await got.json()).toEqual({ name });
}

describe('robustness', () => {
  it('survives garbage on both broker sockets and keeps serving', async () => {
    const client = new Dealer({ linger: 0 });
    const fakeWorker = new Dealer({ linger: 0 });
    client.connect(stack.frontendEndpoint);
    fakeWorker.connect(stack.backendEndpoint);
    for (const message of garbage('PSC1')) await client.send(message);
    for (const message of garbage('PSW1')) await fakeWorker.send(message);
    // A request with a readable id but no deadline is answered, not ignored.
    await client.send([
      Buffer.from('PSC1'),
      Buffer.of(2),
      pack({ id: 'no-deadline', service: 'users' }),
      Buffer.alloc(0),
    ]);
    let answer: ReturnType<typeof decodeClientReply> | undefined;
    for (;;) {
      const [frames] = await Promise.all([client.receive()]);
      answer = decodeClientReply(frames);
      if (answer.header.id === 'no-deadline') break;
    }
    expect(answer).toMatchObject({ command: 'FINAL', header: { id: 'no-deadline', error: 'malformed' } });
    client.close();
    fakeWorker.close();
    expect(stack.broker?.child.exitCode).toBeNull();
    await userRoundTrip('after-garbage');
    const warned = (stack.broker?.lines ?? []).filter((l) => l.includes('malformed')).length;
    expect(warned).toBeGreaterThan(100);
  });

  it('a worker survives garbage from its broker and still answers a valid request', async () => {
    const rogue = new Router({ linger: 0 });
    const port = await freePort();
    await rogue.bind(`tcp://127.0.0.1:${port}`);
    const worker: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      env: {
        ...process.env,
        BROKER_BACKEND_URL: `tcp://127.0.0.1:${port}`,
        DATA_DIR: dataDir,
        WORKER_METRICS_PORT: '0',
        HEARTBEAT_INTERVAL_MS: '60000',
        LOG_PRETTY: 'false',
      },
      stdio: 'ignore',
    });
    try {
      const [identity, ...ready] = await rogue.receive();
      expect(decodeWorkerMessage(ready).command).toBe('READY');
      for (const message of garbage('PSW1')) await rogue.send([identity as Buffer, ...message]);
      const header = usersGet('ok');
      // A well-framed request whose body is garbage is answered with an error, not a crash.
      await rogue.send([
        identity as Buffer,
        ...encodeWorkerRequest(Buffer.from('c1'), { ...header, id: 'junk' }, Buffer.from('junk')),
      ]);
      await rogue.send([
        identity as Buffer,
        ...encodeWorkerRequest(
          Buffer.from('c2'),
          header,
          encodeCommandBody({ actor: null, args: { username: 'nobody-here' } }),
        ),
      ]);
      const replies = new Map<string, ReturnType<typeof decodeOutcome>>();
      while (replies.size < 2) {
        const [, ...frames] = await rogue.receive();
        const message = decodeWorkerMessage(frames);
        if (message.command === 'FINAL') replies.set(message.header.id, decodeOutcome(message.body));
      }
      expect(replies.get('junk')).toMatchObject({ ok: false, error: { code: 'invalid' } });
      expect(replies.get('ok')).toMatchObject({ ok: false, error: { code: 'not_found' } });
      expect(worker.exitCode).toBeNull();
    } finally {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
      rogue.close();
    }
  });

  it('notices a killed worker, answers 503 while none serves, and recovers when one returns', async () => {
    for (const w of stack.workers) w.child.kill('SIGKILL');
    await Promise.all(stack.workers.map((w) => w.exited));
    const until = Date.now() + 3000;
    let status = 0;
    while (Date.now() < until && status !== 503) {
      status = (await fetch(`${stack.apiUrl}/readyz`)).status;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(503);
    const refused = await fetch(`${stack.apiUrl}/v1/users/after-garbage`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    stack.addWorker();
    await stack.waitReady(1, 20_000);
    await userRoundTrip('after-recovery');
  });

  it('asks a raw client for the broker status without any worker involved', async () => {
    const client = new Dealer({ linger: 0 });
    client.connect(stack.frontendEndpoint);
    const header = {
      id: 's1',
      service: 'broker.status',
      command: 'status',
      deadline: Date.now() + 2000,
      idempotent: true,
      requestId: 's1',
    };
    await client.send(encodeClientRequest(header, Buffer.of(0xc0)));
    const reply = decodeClientReply(await client.receive());
    client.close();
    const outcome = decodeOutcome(reply.body);
    expect(
      outcome.ok &&
        (outcome.value as { services: Record<string, { workers: number }> }).services.users?.workers,
    ).toBe(1);
  });

  it('stops every process on SIGTERM with exit code 0', async () => {
    await stack.stop('SIGTERM');
    const processes = [stack.api, stack.broker, stack.workers.at(-1)];
    for (const p of processes)
      expect({ name: p?.name, code: p?.child.exitCode }).toEqual({ name: p?.name, code: 0 });
  });
});
