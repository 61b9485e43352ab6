/**
 * A small HTTP reverse proxy spreading requests round-robin over api processes: the local runner's
 * stand-in for nginx in compose (deploy/nginx/nginx.conf), with the same rules. Bodies stream both ways
 * with backpressure and are never buffered (pod files can be GBs); every request carries a sane
 * X-Request-Id (the caller's, else a fresh one) that comes back on the response; Server and
 * X-Powered-By never leave; /metrics is not served to the outside (scrape each replica instead).
 * As nginx does, a request goes to the next upstream when its upstream fails before anything of it was
 * sent (connection refused), or, for an idempotent request without a body, before the response began.
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { requestIdOf } from '../../api/request-id.ts';
import { codeOfStatus, problemTypeUri } from '../../protocol/problem-types.ts';

export interface Upstream {
  host: string;
  port: number;
}

export interface ProxyOptions {
  host: string;
  /** 0 lets the OS pick a port (see `port` on the result). */
  port: number;
  upstreams: Upstream[];
  /** Called when an upstream fails a request, for the process's log. */
  onUpstreamError?: (upstream: Upstream, error: Error) => void;
}

export interface RunningProxy {
  port: number;
  /** Stops accepting, waits up to `graceMs` for requests in flight, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const HIDDEN_REQUEST_HEADERS = new Set(['x-request-id', 'expect']);
const HIDDEN_RESPONSE_HEADERS = new Set(['server', 'x-powered-by', 'x-request-id']);
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
const HEALTH_PATH = '/proxy-healthz';
const BLOCKED_PATHS = new Set(['/metrics']);

export async function startRoundRobinProxy(options: ProxyOptions): Promise<RunningProxy> {
  if (options.upstreams.length === 0) throw new Error('the proxy needs at least one upstream');
  const agent = new Agent({ keepAlive: true });
  let next = 0;
  const nextUpstream = (): Upstream => {
    const upstream = options.upstreams[next % options.upstreams.length] as Upstream;
    next++;
    return upstream;
  };

  // No request timeout: an upload of many GB may take as long as it takes.
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const id = requestIdOf(req);
    const path = (req.url ?? '/').split('?')[0];
    if (path === HEALTH_PATH) {
      send(res, id, 200, 'text/plain', 'ALIVE proxy\n');
      return;
    }
    if (path !== undefined && BLOCKED_PATHS.has(path)) {
      sendProblem(res, id, 404, `no route for ${req.method} ${path}`);
      return;
    }
    forward(req, res, id, options.upstreams.length);
  });

  function forward(req: IncomingMessage, res: ServerResponse, id: string, attempts: number): void {
    const upstream = nextUpstream();
    const upstreamReq = request({
      agent,
      host: upstream.host,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req, id),
    });
    // The caller went away (aborted upload or download): stop the upstream exchange too.
    const onClientClose = () => {
      if (!res.writableFinished) upstreamReq.destroy();
    };
    res.once('close', onClientClose);

    upstreamReq.once('response', (upstreamRes) => {
      if (res.destroyed) {
        upstreamRes.destroy();
        return;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders(upstreamRes.headers, id));
      pipeline(upstreamRes, res, () => {
        // Errors here are a cut connection on either side; pipeline has destroyed both streams.
      });
    });
    // The body starts flowing only once the connection stands, so until then the request can still go
    // to another upstream.
    let connected = false;
    upstreamReq.once('socket', (socket) => {
      const start = () => {
        connected = true;
        if (hasBody(req)) req.pipe(upstreamReq);
      };
      if (socket.connecting) socket.once('connect', start);
      else start();
    });
    if (!hasBody(req)) upstreamReq.end();

    let failed = false;
    upstreamReq.on('error', (error) => {
      if (failed) return;
      failed = true;
      res.off('close', onClientClose);
      options.onUpstreamError?.(upstream, error);
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const resendable = !connected || (!hasBody(req) && RETRYABLE_METHODS.has(req.method ?? ''));
      if (resendable && attempts > 1) {
        forward(req, res, id, attempts - 1);
        return;
      }
      req.unpipe(upstreamReq);
      res.setHeader('connection', 'close');
      sendProblem(res, id, 502, 'no api instance answered');
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs) => closeServer(server, agent, graceMs),
  };
}

/** `host:port,host:port` into upstreams. */
export function parseUpstreams(list: string): Upstream[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const match = /^(.+):(\d{1,5})$/.exec(entry);
      if (match?.[1] === undefined || match[2] === undefined) throw new Error(`"${entry}" is not host:port`);
      return { host: match[1], port: Number(match[2]) };
    });
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The headers named in Connection are hop-by-hop too. */
function withoutHopByHop(headers: IncomingHttpHeaders, hidden: Set<string>): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase()),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || hidden.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function requestHeaders(req: IncomingMessage, id: string): OutgoingHttpHeaders {
  // The proxy answered any `Expect: 100-continue` itself already.
  const headers = withoutHopByHop(req.headers, HIDDEN_REQUEST_HEADERS);
  const client = req.socket.remoteAddress ?? 'unknown';
  const forwardedFor = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor === undefined ? client : `${forwardedFor}, ${client}`;
  headers['x-forwarded-proto'] = 'http';
  if (req.headers.host !== undefined) headers['x-forwarded-host'] = req.headers.host;
  headers['x-request-id'] = id;
  return headers;
}

function responseHeaders(headers: IncomingHttpHeaders, id: string): OutgoingHttpHeaders {
  return { ...withoutHopByHop(headers, HIDDEN_RESPONSE_HEADERS), 'x-request-id': id };
}

function send(res: ServerResponse, id: string, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-request-id': id,
  });
  res.end(body);
}

function sendProblem(res: ServerResponse, id: string, status: number, detail: string): void {
  const title = status === 404 ? 'Not Found' : 'Bad Gateway';
  const code = codeOfStatus(status);
  const body = JSON.stringify({ type: problemTypeUri(code), title, status, detail, code });
  send(res, id, status, 'application/problem+json', body);
}

async function closeServer(server: Server, agent: Agent, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
  agent.destroy();
}
