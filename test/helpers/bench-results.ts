/** The fixed parts of a benchmark suite's results, for the unit tests of its reports and goals. */
import type { SuiteResults } from '../../bench/results-types.ts';

export const testMachine: SuiteResults['machine'] = {
  cores: 2,
  cpu: 'test cpu',
  memoryGiB: 8,
  node: '20.0.0',
};

/** The suite's default settings, with `overrides`. */
export const testSettings = (
  overrides: Partial<SuiteResults['settings']> = {},
): SuiteResults['settings'] => ({
  workers: 2,
  connections: 32,
  seconds: 10,
  users: 100,
  largeMiB: 1024,
  echoBytes: 1024,
  echoConnections: 64,
  processingMiB: 8,
  processingConnections: 8,
  workerCounts: [1, 2, 4],
  ...overrides,
});
