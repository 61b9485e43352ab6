/**
 * An HTTP request body that can be read again from the start while it is small: the chunks read so far
 * are kept until they pass `limitBytes`, so an upload whose worker died can be sent once more to another
 * worker. Past the limit the body streams as before (chunks are let go once read) and cannot be replayed.
 *
 * One read from the source at a time, shared by the readers: a chunk that arrives after its reader gave
 * up (the worker answered first) is kept for the next reader rather than lost.
 */
export interface BodyReader {
  next(): Promise<IteratorResult<Buffer>>;
}

export class ReplayableBody {
  readonly #source: AsyncIterator<Buffer>;
  /** Chunks from index `#first` on (earlier ones were let go). */
  #chunks: Buffer[] = [];
  #first = 0;
  #bytes = 0;
  #replayable: boolean;
  #done = false;
  #reading: Promise<void> | undefined;
  #readers = 0;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly limitBytes: number,
  ) {
    this.#source = source[Symbol.asyncIterator]();
    this.#replayable = limitBytes > 0;
  }

  /** True while a new reader would see the body from its first byte. */
  get replayable(): boolean {
    return this.#replayable || this.#readers === 0;
  }

  /** A reader from the first byte. A second one only while `replayable`. */
  reader(): BodyReader {
    if (!this.replayable) throw new Error('the body is too large to be read again');
    this.#readers++;
    let index = 0;
    const next = async (): Promise<IteratorResult<Buffer>> => {
      for (;;) {
        if (index < this.#first) throw new Error('the body is too large to be read again');
        const at = index - this.#first;
        if (at < this.#chunks.length) {
          const value = this.#chunks[at] as Buffer;
          index++;
          if (!this.#replayable) this.#letGoBefore(index);
          return { done: false, value };
        }
        if (this.#done) return { done: true, value: undefined };
        await this.#pull();
      }
    };
    return { next };
  }

  #pull(): Promise<void> {
    this.#reading ??= this.#source.next().then(
      (result) => {
        this.#reading = undefined;
        if (result.done) {
          this.#done = true;
          return;
        }
        this.#chunks.push(result.value);
        this.#bytes += result.value.length;
        if (this.#bytes > this.limitBytes) this.#replayable = false;
      },
      (error: unknown) => {
        this.#reading = undefined;
        throw error;
      },
    );
    return this.#reading;
  }

  #letGoBefore(index: number): void {
    const drop = index - this.#first;
    if (drop <= 0) return;
    this.#chunks = this.#chunks.slice(drop);
    this.#first = index;
  }
}
