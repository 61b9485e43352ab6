/**
 * Lingering close: how the api ends a connection whose request body it answered before reading it all
 * (a refused upload, a worker that answered first, a store that went away mid-transfer).
 *
 * Closing such a socket at once makes the kernel answer the body bytes still arriving with a TCP reset,
 * and a client busy sending (a proxy that streams bodies, as nginx does with request buffering off)
 * then loses the answer it was sent: nginx turns the reset into "502 Bad Gateway" although the api had
 * answered 503 with Retry-After. RFC 9112 §9.6 asks a server to close in stages instead: answer with
 * `Connection: close`, close only its sending half, read and drop what the client still sends until the
 * client closes its half, and only then (or after a bound) close the connection.
 *
 * Node ends a `Connection: close` answer with `socket.destroySoon()`, or `socket.end()` on a socket
 * without one (node:_http_server, resOnFinish), and its http server keeps the reading half open after
 * that (allowHalfOpen). So this module gives the socket a `destroySoon` that only ends the sending half,
 * makes the request drop what still arrives (whoever read the body has given up on it, and a paused
 * body would stop the socket being read at all), and closes the connection `lingerMs` after the answer
 * went out, so a client that never stops sending is cut off.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection may go on receiving a refused body after its answer (nginx's lingering_timeout). */
export const DEFAULT_LINGER_MS = 5000;

const lingering = new WeakSet<Socket>();

/**
 * For a request answered before its body was read to the end: from now on the rest of the body is read
 * and dropped, the answer is followed by closing only the sending half, and the connection is closed
 * once the client closes its half, or `lingerMs` after the answer went out.
 */
export function lingerAfterAnswer(request: IncomingMessage, lingerMs = DEFAULT_LINGER_MS): void {
  const socket = request.socket;
  if (socket === null || lingering.has(socket) || socket.destroyed) return;
  lingering.add(socket);
  dropRestOfBody(request);
  Object.defineProperty(socket, 'destroySoon', {
    configurable: true,
    value: function endSendingHalf(this: Socket) {
      this.end();
    },
  });
  socket.once('finish', () => {
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}

/** Whoever read the body gave up on it: what still arrives is read and dropped. */
function dropRestOfBody(request: IncomingMessage): void {
  request.removeAllListeners('readable');
  request.removeAllListeners('data');
  request.on('data', () => {});
  request.resume();
}
