/** The machine a benchmark ran on, recorded beside its figures. */
import { cpus, totalmem } from 'node:os';
import type { Machine } from './results-types.ts';

export function machineInfo(): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
  };
}
