/**
 * Sweep turns on real MinIO: workers with clients of their own asking for a sweep's turn at the same
 * moment get it exactly once a round (the store's conditional writes decide, not timing), and a worker
 * whose turn was taken over learns it at its next renewal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import { SweepTurns } from '../../worker/sweep-turns.ts';

let minio: MinioServer;
let stores: S3ObjectStore[];

beforeAll(async () => {
  minio = await startMinio();
  stores = Array.from(
    { length: 4 },
    () =>
      new S3ObjectStore({
        endpoint: minio.endpoint,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
        bucket: 'sweep-turns',
      }),
  );
  await stores[0]?.init();
}, 60_000);

afterAll(async () => {
  await Promise.all((stores ?? []).map((s) => s.close()));
  await minio?.stop();
});

describe('sweep turns on MinIO', () => {
  it('gives each round of the sweep to exactly one of the workers asking at once', async () => {
    for (let round = 0; round < 10; round++) {
      // everyMs 0: a sweep is due as soon as the last one ended.
      const workers = stores.map(
        (store, i) => new SweepTurns(store, 'race', { everyMs: 0, holder: `w${i}` }),
      );
      const turns = await Promise.all(workers.map((w) => w.take()));
      const held = turns.filter((t) => t !== undefined);
      expect(held, `round ${round}`).toHaveLength(1);
      await held[0]?.end(true);
    }
  });

  it('tells the holder of an abandoned turn, once taken over, that it lost it', async () => {
    const [a, b] = stores as [S3ObjectStore, S3ObjectStore];
    const first = await new SweepTurns(a, 'takeover', { everyMs: 60_000, leaseMs: 200, holder: 'a' }).take();
    expect(first).toBeDefined();
    const other = new SweepTurns(b, 'takeover', { everyMs: 60_000, leaseMs: 200, holder: 'b' });
    expect(await other.take()).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const second = await other.take();
    expect(second).toBeDefined();
    expect(await first?.renew()).toBe(false);
    expect(await second?.renew()).toBe(true);
  });
});
