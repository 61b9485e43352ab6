/**
 * Large test bodies made from a seed instead of held in memory: a MiB block filled by the seeded
 * generator of the chaos run (bench/chaos/seeded-random.ts), each copy stamped with its index, so no two
 * MiB are alike and the same seed gives the same bytes. Hashed as they are made.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { seededRandom } from '../../bench/chaos/seeded-random.ts';

const MiB = 1024 * 1024;

/** `size` bytes from `seed`, as a stream; `sha256()` is their digest once the stream has ended. */
export function seededStream(size: number, seed: number): { stream: Readable; sha256: () => string } {
  const random = seededRandom(seed);
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 4) block.writeUInt32BE(Math.floor(random() * 2 ** 32), i);
  const hash = createHash('sha256');
  let index = 0;
  const stream = new Readable({
    read() {
      const start = index * MiB;
      if (start >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - start)));
      if (chunk.length >= 4) chunk.writeUInt32BE(index, 0);
      index++;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

/** Writes `size` seeded bytes to `file`; resolves to their sha256. */
export async function writeSeededFile(file: string, size: number, seed: number): Promise<string> {
  const { stream, sha256 } = seededStream(size, seed);
  await pipeline(stream, createWriteStream(file));
  return sha256();
}
