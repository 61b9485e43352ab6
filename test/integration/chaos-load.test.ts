/**
 * The chaos run of `npm run chaos` in small: 3 workers under a mixed load (reads, writes of several
 * sizes, conditional patches, deletes, POSTs with and without a key, resumable uploads) while one worker is SIGKILLed and
 * restarted every 3 s. Every acknowledged write must read back intact, no idempotent request may fail,
 * every failure must be a 503 with Retry-After, and fewer than 0.1 % may fail at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosRun } from '../../bench/chaos/chaos-run.ts';
import { localChaosTarget } from '../../bench/chaos/worker-killer.ts';
import { type MinioServer, minioEnv, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let stack: LocalStack;

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 3,
    env: minioEnv(minio, 'chaos-load'),
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await minio?.stop();
});

describe('mixed load while a worker is SIGKILLed every 3 s', () => {
  it('reads back every acknowledged write, fails no idempotent request, and fails under 0.1 %', async () => {
    const settings = { workers: 3, killEveryS: 3, restartDelayMs: 300 };
    const result = await chaosRun({
      target: localChaosTarget(stack, settings, () => undefined),
      ...settings,
      seconds: 12,
      connections: 8,
      seed: 7,
      maxErrorRate: 0.001,
      log: () => undefined,
    });
    const { figures } = result;
    expect(figures.kills).toBeGreaterThanOrEqual(3);
    // The kills hit real work: at least 3 of them were followed by answers before the next kill. (Not a
    // count of requests, which depends on how busy the machine is: speed is for the benchmarks.)
    expect(
      figures.answersAfterKills.filter((n) => n > 0).length,
      JSON.stringify(figures.answersAfterKills),
    ).toBeGreaterThanOrEqual(3);
    expect(figures.readBack.checked).toBeGreaterThan(30);
    // Large resumable uploads (tus) were part of the mix, and none failed (they are idempotent).
    expect(figures.byOp.resumable ?? 0, JSON.stringify(figures.byOp)).toBeGreaterThan(0);
    expect({ broken: result.verdict.broken, failures: result.failures.slice(0, 5) }).toEqual({
      broken: [],
      failures: [],
    });
  }, 120_000);
});
