/**
 * Idempotency-Key on POST (worker/idempotency/), on the real filesystem store: first result replayed,
 * another body or request refused, a running key refused, a failed first request forgotten, a dead
 * worker's key taken over after its lease, expiry and sweeping. Plus the api's header parser.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idempotencyKeyOf } from '../../api/files/idempotency-key.ts';
import { CommandError } from '../../protocol/outcome.ts';
import { IdempotencyGuard, type IdempotentRequest } from '../../worker/idempotency/idempotency-guard.ts';
import {
  idempotencyPrefix,
  recordKey,
  serializeRecord,
} from '../../worker/idempotency/idempotency-record.ts';
import { idempotentPost } from '../../worker/idempotency/idempotent-post.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';

const logger = pino({ level: 'silent' });

async function* bytes(...parts: string[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield Buffer.from(part);
}

async function drain(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return error instanceof CommandError ? error.code : String(error);
  }
};

describe('IdempotencyGuard', () => {
  let dir: string;
  let store: FsObjectStore;
  let now: number;
  let guard: IdempotencyGuard;
  let runs: string[];
  const request = (overrides: Partial<IdempotentRequest> = {}): IdempotentRequest => ({
    owner: 'alice',
    actor: 'alice',
    key: 'k-1',
    fingerprint: 'post inbox/',
    ...overrides,
  });
  /** The "command": records the body it stored and answers with a fresh name. */
  const create = async (body: AsyncIterable<Buffer>) => {
    runs.push(await drain(body));
    return { created: true, info: { path: `inbox/file-${runs.length}` } };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'podstore-idem-'));
    store = new FsObjectStore(dir);
    await store.init();
    now = 1_000_000;
    guard = new IdempotencyGuard(store, { ttlMs: 60_000, leaseMs: 3000 }, logger, undefined, () => now);
    runs = [];
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs once and answers a retry with the same key and body with the first result', async () => {
    const first = await guard.run(request(), bytes('lab ', 'result'), create);
    const again = await guard.run(request(), bytes('lab result'), create);
    expect(again).toEqual(first);
    expect(runs).toEqual(['lab result']);
  });

  it('refuses the same key with another body or another request (unprocessable), keeps the first', async () => {
    await guard.run(request(), bytes('one'), create);
    expect(await codeOf(guard.run(request(), bytes('two'), create))).toBe('unprocessable');
    expect(await codeOf(guard.run(request({ fingerprint: 'post other/' }), bytes('one'), create))).toBe(
      'unprocessable',
    );
    expect(runs).toEqual(['one']);
  });

  it('keeps keys apart per caller and per owner', async () => {
    await guard.run(request(), bytes('one'), create);
    await guard.run(request({ actor: 'bob' }), bytes('two'), create);
    await guard.run(request({ owner: 'carol' }), bytes('three'), create);
    expect(runs).toEqual(['one', 'two', 'three']);
  });

  it('refuses a retry while the first request still runs (conflict), then replays it', async () => {
    let finish: (() => void) | undefined;
    const slow = guard.run(request(), bytes('body'), async (body) => {
      await drain(body);
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      return { created: true, info: { path: 'inbox/slow' } };
    });
    // Until the first request runs (a fixed wait was too short on a loaded machine).
    while (finish === undefined) await new Promise((r) => setTimeout(r, 5));
    expect(await codeOf(guard.run(request(), bytes('body'), create))).toBe('conflict');
    finish();
    const first = await slow;
    expect(await guard.run(request(), bytes('body'), create)).toEqual(first);
    expect(runs).toEqual([]);
  });

  it('forgets a first request that failed, so its retry runs afresh', async () => {
    const failing = guard.run(request(), bytes('x'), async () => {
      throw new CommandError('storage_unavailable', 'down');
    });
    expect(await codeOf(failing)).toBe('storage_unavailable');
    await guard.run(request(), bytes('x'), create);
    expect(runs).toEqual(['x']);
  });

  it('takes over the key of a worker that died once its lease lapsed, and not before', async () => {
    // A running record nobody renews: the worker that wrote it is gone.
    await store.put(
      recordKey('alice', 'alice', 'k-1'),
      serializeRecord({
        v: 1,
        state: 'running',
        fingerprint: 'post inbox/',
        leaseUntil: now + 3000,
        expiresAt: now + 60_000,
        createdAt: new Date(now).toISOString(),
      }),
    );
    now += 2000;
    expect(await codeOf(guard.run(request(), bytes('x'), create))).toBe('conflict');
    now += 2000; // the lease is over
    await guard.run(request(), bytes('x'), create);
    expect(runs).toEqual(['x']);
    expect(await guard.run(request(), bytes('x'), create)).toEqual({
      created: true,
      info: { path: 'inbox/file-1' },
    });
  });

  it('forgets a key after its lifetime and sweeps expired records', async () => {
    await guard.run(request(), bytes('one'), create);
    now += 61_000;
    await guard.run(request(), bytes('two'), create); // expired: a new request
    expect(runs).toEqual(['one', 'two']);
    const listed = await store.list(idempotencyPrefix('alice'));
    expect(listed.items.length).toBe(1);
  });

  it('refuses an empty or oversized key', async () => {
    expect(await codeOf(guard.run(request({ key: '' }), bytes('x'), create))).toBe('invalid');
    expect(await codeOf(guard.run(request({ key: 'k'.repeat(256) }), bytes('x'), create))).toBe('invalid');
  });

  it('is a plain run without a key or without a guard', async () => {
    const args = { owner: 'alice', dir: 'inbox' };
    await idempotentPost(guard, args, 'alice', bytes('a'), create);
    await idempotentPost(guard, args, 'alice', bytes('a'), create);
    await idempotentPost(undefined, { ...args, idempotencyKey: 'k' }, 'alice', bytes('b'), create);
    expect(runs).toEqual(['a', 'a', 'b']);
    const keyed = { ...args, idempotencyKey: 'k', slug: 'x' };
    await idempotentPost(guard, keyed, 'alice', bytes('c'), create);
    await idempotentPost(guard, keyed, 'alice', bytes('c'), create);
    expect(await codeOf(idempotentPost(guard, { ...keyed, slug: 'y' }, 'alice', bytes('c'), create))).toBe(
      'unprocessable',
    );
    expect(runs).toEqual(['a', 'a', 'b', 'c']);
  });
});

describe('Idempotency-Key header', () => {
  it('reads a structured-field string or a bare token', () => {
    expect(idempotencyKeyOf(undefined)).toBeUndefined();
    expect(idempotencyKeyOf('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe(
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
    );
    expect(idempotencyKeyOf('"a \\"quoted\\" \\\\ key"')).toBe('a "quoted" \\ key');
    expect(idempotencyKeyOf('plain-token')).toBe('plain-token');
  });

  it.each([
    ['""'],
    ['"unterminated'],
    ['"bad \\n escape"'],
    ['"in"side"'],
    [`"${'k'.repeat(256)}"`],
    ['caf\u00e9'],
    [['a', 'b']],
  ])('refuses %j with 400', (header) => {
    expect(() => idempotencyKeyOf(header)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
