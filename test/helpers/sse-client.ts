/**
 * A small Server-Sent Events client for tests: opens the stream with fetch, parses events and
 * comments as they arrive, and waits for conditions on them.
 */
export interface SseEvent {
  id?: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  readonly #abort = new AbortController();
  #waiters = new Set<() => void>();

  private constructor(readonly response: Response) {}

  /** Opens the stream; resolves once the response headers are in (check `status` for errors). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    });
    const client = new SseClient(response);
    client.#abort.signal.addEventListener('abort', () => abort.abort());
    if (response.status === 200) void client.#read();
    return client;
  }

  get status(): number {
    return this.response.status;
  }

  /** The events' data parsed as JSON. */
  json<T = Record<string, unknown>>(): T[] {
    return this.events.map((e) => JSON.parse(e.data) as T);
  }

  /** Resolves once `predicate` holds; rejects after `timeoutMs`. */
  async until(
    predicate: (client: SseClient) => boolean,
    timeoutMs = 10_000,
    what = 'condition',
  ): Promise<void> {
    if (predicate(this)) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`SSE: no ${what} within ${timeoutMs} ms (have ${this.events.length} events)`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  close(): void {
    this.#abort.abort();
  }

  async #read(): Promise<void> {
    const body = this.response.body;
    if (body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          this.#block(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
        for (const wake of [...this.#waiters]) wake();
      }
    } catch {
      // aborted or cut
    }
    this.ended = true;
    for (const wake of [...this.#waiters]) wake();
  }

  #block(block: string): void {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id:')) id = line.slice(3).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) this.events.push({ ...(id === undefined ? {} : { id }), data: data.join('\n') });
  }
}
