/**
 * The chaos run of `npm run chaos` in small: 3 workers under a mixed load (reads, writes of several
 * sizes, conditional patches, deletes, POSTs with and without a key, large resumable uploads in several
 * PATCHes, long downloads of a 32 MiB file) while one worker is SIGKILLed and restarted every 3 s.
 * Every acknowledged write must read back intact, no idempotent request may fail, every failure must be
 * a 503 with Retry-After, and fewer than 0.1 % may fail at all. Large transfers must have been under way
 * when a worker was killed. Uploads abandoned half-sent must be gone from MinIO after their expiry
 * (records, segments, expiry entries, quota reservations).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_TRANSFERS } from '../../bench/chaos/chaos-mix.ts';
import { chaosRun } from '../../bench/chaos/chaos-run.ts';
import { minioStorage } from '../../bench/chaos/minio-storage.ts';
import { renderChaos } from '../../bench/chaos/render-chaos.ts';
import { localChaosTarget } from '../../bench/chaos/worker-killer.ts';
import { type MinioServer, minioEnv, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let stack: LocalStack;
const BUCKET = 'chaos-load';

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 3,
    env: {
      ...minioEnv(minio, BUCKET),
      // Uploads expire 30 s after their creation (long enough for the large ones of the load to finish
      // on a busy machine, short enough for the abandoned ones to be checked gone soon after the load),
      // swept every second.
      UPLOAD_EXPIRY_S: '30',
      UPLOAD_SWEEP_MS: '1000',
      // Every connection may have a resumable upload open, besides the abandoned ones.
      UPLOADS_PER_CALLER: '32',
    },
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await minio?.stop();
});

describe('mixed load while a worker crashes or leaves every 3 s', () => {
  it('reads back every acknowledged write, fails no idempotent request, and fails under 0.1 %', async () => {
    const settings = { workers: 3, killEveryS: 3, restartDelayMs: 300 };
    const result = await chaosRun({
      target: localChaosTarget(stack, settings, () => undefined, minioStorage(minio, BUCKET)),
      ...settings,
      seconds: 12,
      // Two connections do the large transfers, the other 8 the mix of small requests.
      connections: 10,
      seed: 7,
      maxErrorRate: 0.001,
      large: LARGE_TRANSFERS,
      abandonUploads: 3,
      log: () => undefined,
    });
    const { figures } = result;
    // The report of `npm run chaos`, shown with any failed expectation below.
    const report = renderChaos(result);
    expect(figures.kills, report).toBeGreaterThanOrEqual(3);
    // The kills hit real work: at least 3 of them were followed by answers before the next kill. (Not a
    // count of requests, which depends on how busy the machine is: speed is for the benchmarks.)
    expect(
      figures.answersAfterKills.filter((n) => n > 0).length,
      `${report}\n${JSON.stringify(figures.answersAfterKills)}`,
    ).toBeGreaterThanOrEqual(3);
    // Enough was written for the read-back to mean something: on a quiet machine well over 30 paths and
    // created files; on one shared with other test runs (load average 10 on 2 cores) as few as 30, the
    // large transfers taking their share.
    expect(figures.readBack.checked, report).toBeGreaterThan(20);
    // Large resumable uploads (tus, 4 to 8 PATCHes of 2 MiB) and long downloads (32 MiB, streamed)
    // ran, and every one succeeded with the right bytes; at least one was under way when a worker was
    // killed (its start before the kill, its end after).
    const shown = `${report}\n${JSON.stringify({ transfers: figures.transfers, kills: result.kills })}`;
    const { resumable, 'long-download': download } = figures.transfers;
    expect(resumable?.ran ?? 0, shown).toBeGreaterThan(0);
    expect(download?.ran ?? 0, shown).toBeGreaterThan(0);
    expect(resumable?.succeeded, shown).toBe(resumable?.ran);
    expect(download?.succeeded, shown).toBe(download?.ran);
    expect((resumable?.duringKills ?? 0) + (download?.duringKills ?? 0), shown).toBeGreaterThan(0);
    // The abandoned uploads were stored (a record, two segments, an expiry entry and a quota reservation
    // each), and after their expiry nothing of them is left.
    expect(figures.abandoned, report).toMatchObject({ uploads: 3, objectsBefore: 15, objectsLeft: 0 });
    expect(figures.abandoned?.unchecked, report).toBeUndefined();
    expect({ broken: result.verdict.broken, failures: result.failures.slice(0, 5) }).toEqual({
      broken: [],
      failures: [],
    });
  }, 150_000);
});
