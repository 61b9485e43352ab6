/**
 * Cuts a stream of chunks into consecutive pieces of at most `max` bytes, each itself a stream, so that
 * each piece can be stored as its own object while the bytes flow (memory stays at one chunk). The
 * pieces must be read one after the other; a piece is only offered when at least one byte is left.
 */
export class ByteSegments {
  readonly #source: AsyncIterator<Buffer>;
  #left: Buffer | undefined;
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Whether another byte follows (waits for the source to say). */
  async more(): Promise<boolean> {
    while (this.#left === undefined || this.#left.length === 0) {
      if (this.#done) return false;
      const next = await this.#source.next();
      if (next.done) {
        this.#done = true;
        return false;
      }
      this.#left = next.value;
    }
    return true;
  }

  /** The next piece: up to `max` bytes. */
  async *next(max: number): AsyncGenerator<Buffer> {
    let taken = 0;
    while (taken < max && (await this.more())) {
      const chunk = this.#left as Buffer;
      const part = chunk.length <= max - taken ? chunk : chunk.subarray(0, max - taken);
      this.#left = chunk.subarray(part.length);
      taken += part.length;
      yield part;
    }
  }
}
