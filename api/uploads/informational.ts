/**
 * Sends an interim (1xx) answer before the final one: the resumable-upload draft's
 * `104 (Upload Resumption Supported)`.
 *
 * Node 20 has no public API for an arbitrary 1xx: `writeContinue` is 100, `writeProcessing` 102 and
 * `writeEarlyHints` 103. All three are the same two lines inside Node (lib/_http_server.js): the
 * status line and headers handed to `ServerResponse._writeRaw`, which writes them on the socket ahead
 * of the final answer, or, while an earlier pipelined answer on the same connection is still being
 * written, queues them behind it (writing to `socket` ourselves would put them in front of it). So this
 * does what `writeEarlyHints` does, with another status. The final answer's headers are not touched:
 * the request id, the security headers and every other onSend hook still apply to it alone (an interim
 * answer carries only what its caller gives).
 *
 * HTTP/1.1 only. Answers false (and sends nothing) when it cannot: an HTTP/2 answer (which has no
 * `_writeRaw`), headers already sent, or a connection already gone.
 */
import type { ServerResponse } from 'node:http';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII and spaces only: no CR or LF can end the header early. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

interface RawWriter {
  _writeRaw?: (data: string, encoding: BufferEncoding, callback?: () => void) => boolean;
}

export function writeInformational(
  res: ServerResponse,
  status: number,
  reason: string,
  headers: Record<string, string>,
): boolean {
  if (!Number.isInteger(status) || status < 100 || status > 199 || status === 101)
    throw new RangeError(`${status} is not an interim status`);
  const writer = res as unknown as RawWriter;
  if (typeof writer._writeRaw !== 'function') return false;
  if (res.headersSent || res.writableEnded || res.destroyed || res.socket?.destroyed === true) return false;
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value))
      throw new TypeError(`an interim header is not a valid field: ${name}`);
    head += `${name}: ${value}\r\n`;
  }
  writer._writeRaw.call(res, `${head}\r\n`, 'latin1');
  return true;
}
