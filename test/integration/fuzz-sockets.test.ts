/**
 * Socket fuzz and floods on the ZeroMQ side, with real processes: one client flooding the broker without
 * reading its replies (the broker drops what it cannot deliver, counts it, logs it sparingly, and keeps
 * serving everyone else); a flood of real work (the caller's bounded queue answers `throttled`, every request is
 * answered); stream parts, replies and registrations out of order or from strangers; an oversized frame;
 * and a rogue broker flooding a real worker. No process crashes, memory stays bounded, service goes on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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
  decodeClientReply,
  decodeWorkerMessage,
  encodeClientReply,
  encodeClientRequest,
  encodeWorkerReady,
  encodeWorkerReply,
  encodeWorkerRequest,
  encodeWorkerSignal,
  type RequestHeader,
} from '../../protocol/frames.ts';
import { decodeOutcome } from '../../protocol/outcome.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { brokerMetricsUrl, metric, startChaosStack, waitFor } from '../helpers/chaos.ts';

const MiB = 1024 * 1024;
let dataDir: string;
let stack: LocalStack;
let auth: Record<string, string>;
const owner = 'socket-owner';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'podstore-fuzz-sockets-'));
  stack = await startChaosStack({
    workers: 2,
    env: {
      DATA_DIR: dataDir,
      BROKER_HWM: '200',
      BROKER_MAX_QUEUE: '100',
      BROKER_MAX_MESSAGE_BYTES: String(2 * MiB),
    },
  });
  auth = bearer(await signUp(stack.apiUrl, owner));
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

const rssOf = (child: ChildProcess | undefined) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child?.pid}/status`, 'utf8'))?.[1]) * 1024;

const header = (id: string, overrides: Partial<RequestHeader> = {}): RequestHeader => ({
  id,
  service: 'broker.status',
  command: 'status',
  deadline: Date.now() + 10_000,
  idempotent: true,
  requestId: `fuzz-${id}`,
  ...overrides,
});

/** A round trip through the whole stack: an upload read back intact. */
async function stillServes(name: string): Promise<void> {
  const body = randomBytes(64 * 1024);
  const url = `${stack.apiUrl}/v1/users/${owner}/files/fuzz/${name}`;
  const put = await fetch(url, { method: 'PUT', headers: auth, body });
  expect(put.status).toBe(201);
  const got = await fetch(url, { headers: auth });
  expect(Buffer.from(await got.arrayBuffer()).equals(body)).toBe(true);
}

describe('the broker under floods and foreign frames', () => {
  it('drops, counts and sparingly logs replies a flooding client does not read; others are served', async () => {
    const brokerUrl = brokerMetricsUrl(stack);
    const rssBefore = rssOf(stack.broker?.child);
    const flooder = new Dealer({ linger: 0, receiveHighWaterMark: 10 });
    flooder.connect(stack.frontendEndpoint);
    const flood = (async () => {
      for (let i = 0; i < 60_000; i++)
        await flooder.send(encodeClientRequest(header(`f${i}`), Buffer.of(0xc0)));
    })();
    // While it floods, the api still gets its answers quickly.
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      expect((await fetch(`${stack.apiUrl}/readyz`)).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    await flood;
    await waitFor(
      'the broker to count replies it could not deliver',
      async () =>
        (await metric(brokerUrl, 'podstore_broker_send_failures_total', {
          side: 'client',
          reason: 'peer_full',
        })) > 0,
    );
    flooder.close();
    await stillServes('after-flood.bin');
    const warnings = (stack.broker?.lines ?? []).filter((l) => l.includes('high-water mark')).length;
    expect(warnings).toBeGreaterThanOrEqual(1);
    expect(warnings).toBeLessThan(10); // one line per 5 s, not one per dropped message
    expect(stack.broker?.child.exitCode).toBeNull();
    expect(rssOf(stack.broker?.child) - rssBefore).toBeLessThan(64 * MiB);
  }, 60_000);

  it('answers (or counts as undeliverable) every request of a flood of real work; the queue stays bounded', async () => {
    const brokerUrl = brokerMetricsUrl(stack);
    const dropped = () =>
      metric(brokerUrl, 'podstore_broker_send_failures_total', { side: 'client', reason: 'peer_full' });
    const droppedBefore = await dropped();
    const client = new Dealer({ linger: 0 });
    client.connect(stack.frontendEndpoint);
    const total = 3000;
    const body = encodeCommandBody({ actor: null, args: { username: 'nobody-here' } });
    const answers = new Map<string, number>();
    let seen = 0;
    void (async () => {
      for await (const frames of client) {
        const message = decodeClientReply(frames);
        const error = (message.header as { error?: string }).error;
        const key = error ?? (decodeOutcome(message.body).ok ? 'ok' : 'worker-error');
        answers.set(key, (answers.get(key) ?? 0) + 1);
        seen++;
      }
    })();
    for (let i = 0; i < total; i++) {
      await client.send(
        encodeClientRequest(header(`w${i}`, { service: 'users', command: 'users.get' }), body),
      );
    }
    // Nothing is lost silently: each request got its answer, or its answer is counted as dropped
    // (this client reads more slowly than it sends, past the broker's small high-water mark).
    await waitFor(
      'every request to be accounted for',
      async () => seen + (await dropped()) - droppedBefore === total,
      30_000,
      100,
    );
    client.close();
    // One caller's flood meets its own bound in the broker's queue (BROKER_MAX_QUEUE_PER_CALLER) first.
    expect(answers.get('throttled') ?? 0).toBeGreaterThan(0);
    expect(answers.get('worker-error') ?? 0).toBeGreaterThan(0); // the rest reached a worker
    expect(await metric(brokerUrl, 'podstore_broker_queue_depth')).toBe(0);
    await stillServes('after-work-flood.bin');
  }, 60_000);

  it('a worker refuses commands whose documents nest deeper than JSON_MAX_DEPTH, whoever sends them', async () => {
    const client = new Dealer({ linger: 0 });
    client.connect(stack.frontendEndpoint);
    const replies = client[Symbol.asyncIterator]();
    const ask = async (id: string, body: Buffer) => {
      // A change names its pod in the header, as the api does (a worker refuses one that does not).
      const request = header(id, { service: 'users', command: 'users.patch', pod: owner });
      await client.send(encodeClientRequest(request, body));
      const { value } = await replies.next();
      return decodeOutcome(decodeClientReply(value as Buffer[]).body);
    };
    const patchOf = (patch: unknown) => encodeCommandBody({ actor: owner, args: { username: owner, patch } });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    // Deeper than the encoders on the way can take: the msgpack bytes are written by hand.
    const placeholder = patchOf('DEEP-PLACEHOLDER');
    const at = placeholder.indexOf(Buffer.from('DEEP-PLACEHOLDER'));
    const hostile = Buffer.concat([
      placeholder.subarray(0, at - 1),
      Buffer.alloc(200_000, 0x91),
      Buffer.of(0xc0),
      placeholder.subarray(at + 'DEEP-PLACEHOLDER'.length),
    ]);
    for (const [id, body] of [
      ['deep-100', patchOf({ a: deep })],
      ['deep-200000', hostile],
    ] as const) {
      const outcome = await ask(id, body);
      expect(outcome.ok, id).toBe(false);
      if (!outcome.ok) expect(outcome.error.code, id).toBe('invalid');
    }
    const fine = await ask('shallow', patchOf({ a: [[1]] }));
    expect(fine.ok).toBe(true);
    client.close();
    for (const worker of stack.workers) expect(worker.child.exitCode).toBeNull();
    await stillServes('after-deep.bin');
  }, 60_000);

  it('ignores parts, replies and registrations out of order or from strangers, and oversized frames', async () => {
    const lateBefore = await metric(brokerMetricsUrl(stack), 'podstore_broker_late_replies_total');
    const rssBefore = rssOf(stack.broker?.child);
    // A legitimate upload runs through the api while strangers send parts for every id it could have.
    const body = randomBytes(3 * MiB);
    const url = `${stack.apiUrl}/v1/users/${owner}/files/fuzz/legit.bin`;
    const legit = fetch(url, { method: 'PUT', headers: auth, body });

    const rogue = new Dealer({ linger: 0 });
    rogue.connect(stack.frontendEndpoint);
    const parts = ['data', 'credit', 'end', 'cancel', 'meta'] as const;
    for (let id = 0; id < 3000; id++) {
      const part = parts[id % parts.length] as (typeof parts)[number];
      const kind = part === 'end' || part === 'cancel' ? 'FINAL' : 'PARTIAL';
      await rogue.send(
        encodeClientReply(
          kind,
          { id: id.toString(36), part, ...(part === 'credit' ? { credit: 1_000_000 } : {}) },
          randomBytes(id % 64),
        ),
      );
    }
    // Expired, duplicated and unroutable requests are answered, not lost.
    await rogue.send(
      encodeClientRequest(header('late', { service: 'users', deadline: Date.now() - 1 }), Buffer.of(0xc0)),
    );
    await rogue.send(encodeClientRequest(header('nobody', { service: 'no-such-service' }), Buffer.of(0xc0)));
    const answered = new Map<string, string | undefined>();
    const reader = (async () => {
      for await (const frames of rogue) {
        const message = decodeClientReply(frames);
        answered.set(message.header.id, (message.header as { error?: string }).error);
        if (answered.has('late') && answered.has('nobody')) return;
      }
    })();
    await reader;
    expect(answered.get('late')).toBe('timeout');
    expect(answered.get('nobody')).toBe('no_worker');

    // A stranger on the worker side: re-registers in a loop, floods heartbeats, answers for others.
    const stranger = new Dealer({ linger: 0 });
    stranger.connect(stack.backendEndpoint);
    for (let i = 0; i < 500; i++) {
      await stranger.send(encodeWorkerReady({ services: ['fuzz-junk'], capacity: 1 + (i % 50) }));
      await stranger.send(encodeWorkerSignal('HEARTBEAT'));
      await stranger.send(
        encodeWorkerReply(
          i % 2 ? 'PARTIAL' : 'FINAL',
          randomBytes(5),
          { id: i.toString(36) },
          randomBytes(i % 100),
        ),
      );
    }
    await stranger.send(encodeWorkerSignal('DISCONNECT'));
    await stranger.send(encodeWorkerReply('FINAL', randomBytes(5), { id: 'x' }, Buffer.alloc(0)));

    // An oversized frame gets its sender disconnected, nothing more.
    const big = new Dealer({ linger: 0 });
    big.connect(stack.frontendEndpoint);
    await big.send(encodeClientRequest(header('big'), Buffer.alloc(3 * MiB, 1)));

    expect((await legit).status).toBe(201);
    const got = await fetch(url, { headers: auth });
    expect(Buffer.from(await got.arrayBuffer()).equals(body)).toBe(true);
    for (const socket of [rogue, stranger, big]) socket.close();
    // The stranger's answers for requests it never had are dropped and counted.
    expect(await metric(brokerMetricsUrl(stack), 'podstore_broker_late_replies_total')).toBeGreaterThan(
      lateBefore,
    );
    expect(stack.broker?.child.exitCode).toBeNull();
    expect(rssOf(stack.broker?.child) - rssBefore).toBeLessThan(64 * MiB);
    await stillServes('after-strangers.bin');
  }, 60_000);
});

describe('a worker under a rogue broker', () => {
  it('survives floods of bad requests, foreign parts and DISCONNECTs, and still answers', async () => {
    const rogue = new Router({ linger: 0 });
    const port = await freePort();
    await rogue.bind(`tcp://127.0.0.1:${port}`);
    const worker = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      env: {
        ...process.env,
        BROKER_BACKEND_URL: `tcp://127.0.0.1:${port}`,
        DATA_DIR: dataDir,
        WORKER_METRICS_PORT: '0',
        HEARTBEAT_INTERVAL_MS: '60000',
        LOG_LEVEL: 'error',
        LOG_PRETTY: 'false',
      },
      stdio: 'ignore',
    });
    const kill = () => worker.kill('SIGKILL');
    process.once('exit', kill);
    try {
      /** The worker's identity: it changes when the worker opens a new session after a DISCONNECT. */
      const nextReady = async () => {
        for (;;) {
          const [identity, ...frames] = await rogue.receive();
          if (decodeWorkerMessage(frames).command === 'READY') return identity as Buffer;
        }
      };
      let identity = await nextReady();
      const rssBefore = rssOf(worker);
      const commands = ['users.get', 'files.get', 'files.put', 'no.such', 'health.storage', 'users.put'];
      for (let i = 0; i < 4000; i++) {
        const id = `r${i}`;
        const h = header(id, { service: 'users', command: commands[i % commands.length] as string });
        const bodies = [randomBytes(i % 200), pack({ actor: 7, args: 'x' }), pack(null), Buffer.alloc(0)];
        await rogue.send([
          identity,
          ...encodeWorkerRequest(randomBytes(4), h, bodies[i % bodies.length] as Buffer),
        ]);
        await rogue.send([
          identity,
          ...encodeWorkerReply('PARTIAL', randomBytes(4), { id: `u${i}`, part: 'data' }, randomBytes(64)),
        ]);
      }
      await rogue.send([identity, ...encodeWorkerSignal('DISCONNECT')]);
      identity = await nextReady(); // it registers again, on a fresh session
      const valid = header('valid', { service: 'health', command: 'health.storage' });
      await rogue.send([
        identity,
        ...encodeWorkerRequest(Buffer.from('client'), valid, encodeCommandBody({ actor: null, args: {} })),
      ]);
      const answer = await waitFor('the valid request to be answered', async () => {
        const [, ...frames] = await rogue.receive();
        const message = decodeWorkerMessage(frames);
        return message.command === 'FINAL' && message.header.id === 'valid' ? message : undefined;
      });
      expect(answer.command === 'FINAL' && decodeOutcome(answer.body).ok).toBe(true);
      expect(worker.exitCode).toBeNull();
      expect(rssOf(worker) - rssBefore).toBeLessThan(96 * MiB);
    } finally {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
      process.off('exit', kill);
      rogue.close();
    }
  }, 60_000);
});
