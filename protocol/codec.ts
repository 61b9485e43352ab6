/**
 * The one place that knows how headers and bodies are serialized: msgpack through msgpackr, as plain maps
 * (no record extension), so any msgpack implementation can read podstore's frames.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws on bytes that are not one complete msgpack value. */
export function unpack(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new RangeError('empty frame');
  return packr.unpack(bytes);
}
