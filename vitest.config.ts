/**
 * Vitest: two projects. `unit` (test/unit/) needs no servers and starts nothing; `integration`
 * (test/integration/) gets real MinIO and NATS binaries, provisioned once by its global setup.
 * `npm run test:unit` and `npm run test:integration` run one each; `npm test` runs both.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // The CI machine has 2 cores, and integration files start servers of their own.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
