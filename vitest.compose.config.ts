/**
 * Vitest for `npm run test:compose`: the deployment test (test/compose/), on Docker, one file, in order.
 * Not part of `npm test`; deploy/docker/setup.sh prepares the engine and base images first.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/compose/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 600_000,
    hookTimeout: 25 * 60_000,
    teardownTimeout: 240_000,
  },
});
