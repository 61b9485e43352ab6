/**
 * Runs at most `max` tasks at once, the others waiting in order; a waiting task whose signal aborts
 * leaves the queue without running. The console uses one for thumbnails, so that a folder of images
 * asks the server for a few previews at a time rather than every visible row at once.
 */
export class TaskLimiter {
  #running = 0;
  readonly #waiting: { start: () => void; signal: AbortSignal | undefined }[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max is a whole number of 1 or more');
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new DOMException('aborted', 'AbortError'));
        return;
      }
      const entry = {
        signal,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#running += 1;
          task()
            .then(resolve, reject)
            .finally(() => {
              this.#running -= 1;
              this.#next();
            });
        },
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(entry);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(new DOMException('aborted', 'AbortError'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.max) {
      const entry = this.#waiting.shift();
      if (entry === undefined) return;
      if (entry.signal?.aborted) continue;
      entry.start();
    }
  }
}
