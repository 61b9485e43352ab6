/** A body passed through unchanged while its SHA-256 is computed, for comparing a retry's body. */
import { createHash } from 'node:crypto';

export interface DigestedBody {
  bytes: AsyncIterable<Buffer>;
  /** The hex SHA-256 of every byte that went through so far. */
  hex(): string;
}

export function digesting(source: AsyncIterable<Buffer>): DigestedBody {
  const hash = createHash('sha256');
  async function* bytes() {
    for await (const chunk of source) {
      hash.update(chunk);
      yield chunk;
    }
  }
  let digest: string | undefined;
  return {
    bytes: bytes(),
    hex: () => {
      digest ??= hash.digest('hex');
      return digest;
    },
  };
}
