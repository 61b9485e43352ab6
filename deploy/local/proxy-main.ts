/**
 * The local runner's reverse-proxy process (what nginx is in compose): round-robin over the api
 * processes listed in PROXY_UPSTREAMS (`host:port,host:port`). Started by LocalStack when it runs more
 * than one api; SIGTERM lets requests in flight finish for PROXY_GRACE_MS.
 */
import { integer, loadConfig, text } from '../../runtime/env.ts';
import { createLogger } from '../../runtime/logger.ts';
import { onShutdown } from '../../runtime/shutdown.ts';
import { parseUpstreams, startRoundRobinProxy } from './round-robin-proxy.ts';

const proxySpec = {
  host: text('PROXY_HOST', '127.0.0.1', 'Address the proxy listens on'),
  port: integer('PROXY_PORT', 8080, 'Port the proxy listens on', 0, 65535),
  upstreams: text(
    'PROXY_UPSTREAMS',
    '127.0.0.1:8081,127.0.0.1:8082',
    'Api instances, host:port, comma-separated',
  ),
  graceMs: integer('PROXY_GRACE_MS', 10_000, 'How long SIGTERM waits for requests in flight', 0, 600_000),
};

const logger = createLogger('proxy');
const config = loadConfig(proxySpec);
const upstreams = parseUpstreams(config.upstreams);
const proxy = await startRoundRobinProxy({
  host: config.host,
  port: config.port,
  upstreams,
  onUpstreamError: (upstream, error) => logger.warn({ upstream, err: error.message }, 'upstream failed'),
});
logger.info({ port: proxy.port, upstreams }, 'proxy listening');

onShutdown(logger, config.graceMs + 2000, () => proxy.close(config.graceMs));
