/**
 * Vitest: three projects. `unit` (test/unit/, console/test/) needs no servers and starts nothing;
 * `integration` (test/integration/) gets real MinIO and NATS binaries, provisioned once by its global
 * setup; `browser` (test/browser/) drives the web console in headless Chromium against such a stack.
 * `npm run test:unit` and `npm run test:integration` and `npm run test:browser` run one each; `npm test` runs all three;
 * `npm run test:coverage` runs the unit tier with coverage.
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
    // `npm run test:coverage`: code run inside the test processes (integration tests start the
    // api, broker and workers as child processes, whose code is not measured).
    coverage: {
      provider: 'v8',
      // The product's code, whatever its folders: everything but tests, tools and deployment.
      include: ['**/*.ts'],
      exclude: [
        'test/**',
        'bench/**',
        'deploy/**',
        'scripts/**',
        '*.config.ts',
        'dist/**',
        'node_modules/**',
      ],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: '.cache/coverage',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'console/test/**/*.test.ts'],
          // Files run one after another in each worker process, sharing loaded modules: a third of the
          // time. So a unit test leaves no global state behind (environment, timers, listeners).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // MinIO and nats-server as for integration; the console built from its sources; Chromium checked.
          globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/console-build.ts'],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
