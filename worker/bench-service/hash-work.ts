/**
 * CPU-heavy work on demand, for the `processing` load scenario: SHA-256 over `mib` MiB of generated
 * bytes. It yields to the event loop after each MiB, so a busy worker still heartbeats and takes other
 * commands, and it stops as soon as the command's deadline has passed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';

export const MAX_HASH_MIB = 64;
const BLOCK = randomBytes(1024 * 1024);

export interface HashResult {
  sha256: string;
  mib: number;
  ms: number;
  /** The worker that did the work, so a load run can see how the broker spread it. */
  pid: number;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function hashGenerated(mib: number, seed: string, deadline: number): Promise<HashResult> {
  if (!Number.isInteger(mib) || mib < 1 || mib > MAX_HASH_MIB) {
    throw new CommandError(ErrorCode.INVALID, `mib is a whole number from 1 to ${MAX_HASH_MIB}`);
  }
  const started = performance.now();
  const hash = createHash('sha256').update(seed);
  for (let i = 0; i < mib; i++) {
    if (Date.now() > deadline) throw new CommandError(ErrorCode.TIMEOUT, 'deadline passed');
    hash.update(BLOCK);
    await yieldToLoop();
  }
  const ms = Math.round((performance.now() - started) * 10) / 10;
  return { sha256: hash.digest('hex'), mib, ms, pid: process.pid };
}
