/**
 * The web console end to end in headless Chromium, against a real stack started here: MinIO, NATS with
 * JetStream (live events), a broker, 2 workers and the api serving the console built from its sources
 * (test/helpers/console-build.ts). The walk itself: test/browser/console-walk.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';
import { consoleWalk } from './console-walk.ts';

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 2,
    env: {
      NATS_URL: nats.url,
      SSE_HEARTBEAT_MS: '500',
      ...minioEnv(minio, 'console-browser'),
    },
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([minio?.stop(), nats?.stop()]);
});

describe('the web console, end to end in Chromium (npm start topology)', () => {
  const walk = consoleWalk({
    origin: () => stack.apiUrl,
    patient: 'patient',
    hospital: 'hospital',
    reader: 'reader',
    screenshots: new URL('../../.cache/console-screenshots/', import.meta.url),
  });

  it('never let a token reach a log: not in a URL, not anywhere the processes write', () => {
    expect(walk.tokens).toHaveLength(4);
    const processes = [stack.broker, ...stack.apis, ...stack.workers];
    const lines = processes.flatMap((p) => p?.lines ?? []);
    // The api logs every request with its URL: a token in a URL would be there.
    expect(lines.filter((line) => line.includes('"msg":"request"')).length).toBeGreaterThan(20);
    for (const token of walk.tokens) expect(lines.filter((line) => line.includes(token))).toEqual([]);
  });
});
