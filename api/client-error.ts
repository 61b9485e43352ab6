/**
 * Requests Node's HTTP parser refuses before any route sees them (a bad Content-Length, Content-Length
 * with Transfer-Encoding, a NUL in a header, headers too large, headers or a request too slow) get the
 * same error contract as every other: an HTTP/1.1 answer with an RFC 9457 problem+json body and a fresh
 * X-Request-Id, written straight to the socket, which is then closed (its framing cannot be trusted).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { PROBLEM_TYPE, problem } from './problem.ts';
import { BASELINE_SECURITY_HEADERS } from './security-headers.ts';

/** What the parser's error codes (llhttp's `HPE_*`, Node's `ERR_HTTP_*`) mean for the client. */
const KNOWN: Record<string, { status: number; detail: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'the request line and headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'the request did not arrive in time' },
  HPE_INVALID_CONTENT_LENGTH: { status: 400, detail: 'the Content-Length header is not a valid length' },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    status: 400,
    detail: 'Content-Length may not be sent twice, nor together with Transfer-Encoding',
  },
  HPE_INVALID_TRANSFER_ENCODING: {
    status: 400,
    detail: 'Transfer-Encoding is not valid (only chunked, last, and never with Content-Length)',
  },
  HPE_INVALID_CHUNK_SIZE: { status: 400, detail: 'a chunk size of the chunked body is not valid' },
  HPE_INVALID_HEADER_TOKEN: {
    status: 400,
    detail: 'a header name or value holds a character that is not allowed (a NUL, say)',
  },
  HPE_INVALID_METHOD: { status: 400, detail: 'the request method is not valid' },
  HPE_INVALID_URL: { status: 400, detail: 'the request target is not valid' },
  HPE_INVALID_VERSION: { status: 400, detail: 'the HTTP version is not valid' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 400, detail: 'the chunk extensions are too large' },
};

/** The status and problem detail of a parser error; anything unknown is a malformed request (400). */
export function clientErrorProblem(code: string | undefined): { status: number; detail: string } {
  return (
    (code === undefined ? undefined : KNOWN[code]) ?? {
      status: 400,
      detail: 'the request is not valid HTTP/1.1',
    }
  );
}

/** The whole HTTP/1.1 answer, bytes ready for the socket. */
export function clientErrorResponse(status: number, detail: string, requestId: string): string {
  const body = JSON.stringify(problem(status, detail));
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    `content-type: ${PROBLEM_TYPE}; charset=utf-8`,
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    ...Object.entries(BASELINE_SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
    `date: ${new Date().toUTCString()}`,
    'connection: close',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** Node's `clientError` listener (fastify's `clientErrorHandler` option). */
export function clientErrorHandler(logger: FastifyBaseLogger, onAnswered?: (status: number) => void) {
  return (error: Error & { code?: string }, socket: Duplex): void => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // A response under way on this connection (a pipelined request after it broke): it cannot be
    // followed by another one, so the connection is just closed.
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inProgress?.headersSent === true) {
      socket.destroy();
      return;
    }
    const { status, detail } = clientErrorProblem(error.code);
    const requestId = randomUUID();
    logger.info({ requestId, code: error.code, status }, 'malformed request refused');
    onAnswered?.(status);
    socket.end(clientErrorResponse(status, detail, requestId));
    // A client that never reads its answer does not hold the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  };
}
