/**
 * Vitest for `npm run test:k8s` only: podstore's Kubernetes manifests on a real single-node cluster
 * (deploy/k8s/setup.sh). Not part of `npm test`: it needs root and a Docker engine holding the images.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/k8s/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 1_800_000,
    teardownTimeout: 180_000,
  },
});
