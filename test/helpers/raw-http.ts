/**
 * One HTTP/1.1 exchange over a fresh TCP connection with bytes exactly as given (no client library
 * normalises or refuses them): the first response's status, headers and body, or why there was none.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the complete answer. */
  ms: number;
}

export function rawExchange(
  baseUrl: string,
  bytes: Buffer | string,
  timeoutMs = 20_000,
): Promise<RawAnswer | { error: string; ms: number }> {
  const url = new URL(baseUrl);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: RawAnswer | { error: string; ms: number }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(
      () => finish({ error: `no answer within ${timeoutMs} ms`, ms: Date.now() - started }),
      timeoutMs,
    );
    const parse = (closed: boolean) => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) finish({ error: `closed after ${received.length} bytes`, ms: Date.now() - started });
        return;
      }
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (status >= 100 && status < 200) {
        received = received.subarray(end + 4); // an interim answer (100 Continue): the real one follows
        parse(closed);
        return;
      }
      const rest = received.subarray(end + 4);
      const length = Number(headers['content-length'] ?? Number.NaN);
      if (!closed && !(rest.length >= length)) return;
      finish({ status, headers, body: rest.toString('utf8'), ms: Date.now() - started });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      parse(false);
    });
    socket.on('close', () => parse(true));
    socket.on('error', (error) => {
      if (received.length > 0) parse(true);
      else finish({ error: error.message, ms: Date.now() - started });
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

export interface StreamingSendResult {
  /** Everything the server sent, as latin1 text. */
  answer: string;
  /** The socket error the client saw (EPIPE, ECONNRESET…), if any. */
  error?: string;
  /** True when the server closed its sending half (a FIN) before the connection ended. */
  endedByServer: boolean;
  ms: number;
}

/**
 * Sends `head` (a request line and headers declaring a large body) and then writes the body in 64 KiB
 * chunks without waiting for an answer, as a proxy that streams bodies does. Stops writing once a whole
 * answer of `Content-Length` bytes is read ('answer'), once the server closes its half ('fin'), or never
 * until the connection is gone ('never').
 */
export function sendWhileAnswered(
  baseUrl: string,
  head: string,
  stopOn: 'answer' | 'fin' | 'never',
  timeoutMs = 20_000,
): Promise<StreamingSendResult> {
  const url = new URL(baseUrl);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
    const received: Buffer[] = [];
    let error: string | undefined;
    let endedByServer = false;
    let writing = true;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const pump = () => {
      while (writing && !socket.destroyed && socket.write(chunk)) {}
    };
    const answerComplete = () => {
      const text = Buffer.concat(received).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      return end >= 0 && length !== undefined && text.length - end - 4 >= Number(length);
    };
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('drain', pump);
    socket.on('data', (data: Buffer) => {
      received.push(data);
      if (stopOn === 'answer' && writing && answerComplete()) {
        writing = false;
        socket.end();
      }
    });
    socket.on('end', () => {
      endedByServer = true;
      if (stopOn === 'never') return;
      writing = false;
      socket.end();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({
        answer: Buffer.concat(received).toString('latin1'),
        error,
        endedByServer,
        ms: Date.now() - started,
      });
    });
    socket.write(head);
    pump();
  });
}
