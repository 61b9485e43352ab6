/**
 * A Server-Sent Events parser for a byte stream read by fetch (EventSource cannot send the bearer
 * token). Feed it decoded text as it arrives; it calls back once per complete event (WHATWG rules:
 * lines end with LF, CRLF or CR; `data:` lines join with LF; `:` lines are comments).
 */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | null = null;
  /** The last id seen (for Last-Event-ID when reconnecting). */
  lastEventId: string | null = null;

  constructor(private readonly onMessage: (message: SseMessage) => void) {}

  push(text: string): void {
    this.#buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (match === null) return;
      // A lone CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) return;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      this.#line(line);
    }
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) {
        if (this.#id !== null) this.lastEventId = this.#id;
        this.onMessage({ id: this.#id, event: this.#event || 'message', data: this.#data.join('\n') });
      }
      this.#data = [];
      this.#event = '';
      this.#id = null;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.#id = value;
  }
}
