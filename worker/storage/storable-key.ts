/**
 * Key limits shared by both storage adapters, so that a key accepted by one is accepted by the other.
 * They are those of S3 (a key is at most 1024 UTF-8 bytes) and of common filesystems and MinIO (a
 * segment is at most 255 bytes), on top of the well-formedness rules of assertValidKey.
 */
import { assertValidKey, InvalidKeyError } from './object-store.ts';

export const MAX_KEY_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;

/** Throws InvalidKeyError unless `key` is well-formed and within the limits every adapter can store. */
export function assertStorableKey(key: string): void {
  assertValidKey(key);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`key longer than ${MAX_KEY_BYTES} bytes`);
  }
  for (const segment of key.split('/')) {
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw new InvalidKeyError(`key segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

/**
 * Whether any well-formed key starts with `prefix`. A prefix like `../` or `a//` cannot, and S3
 * servers may refuse to list it, so adapters answer an empty page without asking.
 */
export function prefixCanMatch(prefix: string): boolean {
  if (prefix === '') return true;
  try {
    // Extending the prefix by one character makes a key exactly when some valid key extends it.
    assertValidKey(`${prefix}x`);
    return true;
  } catch {
    return false;
  }
}

/** Orders two keys by their UTF-8 bytes, the order S3 lists in (not JavaScript's UTF-16 order). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
