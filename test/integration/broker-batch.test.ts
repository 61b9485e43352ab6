/**
 * Batches on the real broker (broker, workers and api as processes): a client that reads batches gets its
 * calls answered right when it sends them bundled, and its replies come bundled; a client that never said
 * it reads them (an older api) only ever gets plain messages. Loopback, filesystem storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { BrokerClient } from '../../api/broker-client.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { encodeCommandBody } from '../../protocol/command-body.ts';
import {
  decodeClientMessage,
  encodeBatch,
  encodeClientRequest,
  isBatch,
  type RequestHeader,
  splitBatch,
} from '../../protocol/frames.ts';
import { decodeOutcome } from '../../protocol/outcome.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let dataDir: string;
let stack: LocalStack;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'podstore-batch-'));
  stack = await startTestStack({ workers: 2, env: { DATA_DIR: dataDir, BENCH_ROUTES: 'true' } });
});

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

const echo = (id: string, extra: Partial<RequestHeader> = {}): RequestHeader => ({
  id,
  service: 'bench',
  command: 'bench.echo',
  deadline: Date.now() + 20_000,
  idempotent: true,
  requestId: id,
  ...extra,
});
const payloadOf = (id: string) => Buffer.from(`payload of ${id} `.repeat(20));
const request = (id: string, extra: Partial<RequestHeader> = {}) =>
  encodeClientRequest(echo(id, extra), encodeCommandBody({ actor: null, args: { payload: payloadOf(id) } }));

/** Reads until `count` FINAL replies came; returns them by id, and whether each message was a batch. */
async function collect(client: Dealer, count: number) {
  const replies = new Map<string, Buffer>();
  const messages: { batch: boolean; replies: number }[] = [];
  while (replies.size < count) {
    const frames = await client.receive();
    const batch = isBatch(frames);
    const parts = batch ? splitBatch(frames, 'PSC1') : [frames];
    messages.push({ batch, replies: parts.length });
    for (const part of parts) {
      const message = decodeClientMessage(part);
      if (message.command !== 'FINAL') throw new Error(`a ${message.command} where a FINAL was due`);
      expect(message.header).not.toHaveProperty('error');
      const outcome = decodeOutcome(message.body);
      expect(outcome.ok).toBe(true);
      replies.set(message.header.id, Buffer.from((outcome as { value: Uint8Array }).value));
    }
  }
  return { replies, messages };
}

describe('broker batches', () => {
  it('answers every call of a BATCH, bundling the replies to a client that reads batches', async () => {
    const client = new Dealer({ linger: 0, receiveTimeout: 15_000 });
    client.connect(stack.frontendEndpoint);
    try {
      const ids = Array.from({ length: 60 }, (_, i) => `b${i}`);
      // The first message says this client reads batches, like the api's status ping.
      await client.send(encodeBatch(ids.map((id, i) => request(id, i === 0 ? { batch: true } : {}))));
      const { replies, messages } = await collect(client, ids.length);
      for (const id of ids) expect(replies.get(id)).toEqual(payloadOf(id));
      expect(messages.some((m) => m.batch && m.replies > 1)).toBe(true);
      expect(messages.length).toBeLessThan(ids.length);
    } finally {
      client.close();
    }
  });

  it('sends only plain messages to a client that never said it reads batches', async () => {
    const client = new Dealer({ linger: 0, receiveTimeout: 15_000 });
    client.connect(stack.frontendEndpoint);
    try {
      const ids = Array.from({ length: 60 }, (_, i) => `p${i}`);
      for (const id of ids) await client.send(request(id));
      const { replies, messages } = await collect(client, ids.length);
      for (const id of ids) expect(replies.get(id)).toEqual(payloadOf(id));
      expect(messages.every((m) => !m.batch)).toBe(true);
    } finally {
      client.close();
    }
  });

  it("answers the api's client right under concurrency, with batching both ways", async () => {
    const broker = new BrokerClient(
      { endpoint: stack.frontendEndpoint, heartbeatMs: 250, liveness: 4, highWaterMark: 1000 },
      pino({ level: 'silent' }),
    );
    broker.start();
    try {
      for (let i = 0; i < 100 && !broker.available; i++) await new Promise((r) => setTimeout(r, 50));
      const options = { actor: null, requestId: 'batch-test', idempotent: true, timeoutMs: 15_000 };
      for (let round = 0; round < 3; round++) {
        const payloads = Array.from({ length: 200 }, () => randomBytes(1 + Math.floor(Math.random() * 4096)));
        const outcomes = await Promise.all(
          // Eight callers: one caller may have only BROKER_MAX_QUEUE_PER_CALLER calls waiting.
          payloads.map((payload, i) =>
            broker.call('bench', 'bench.echo', { payload }, { ...options, caller: `caller-${i % 8}` }),
          ),
        );
        // Compared as bytes (a deep equality of 200 buffers would hold the event loop for seconds).
        const wrong = outcomes.filter(
          (outcome, i) =>
            !outcome.ok || !Buffer.from(outcome.value as Uint8Array).equals(payloads[i] as Buffer),
        );
        expect(wrong).toHaveLength(0);
      }
    } finally {
      await broker.close();
    }
  });
});
