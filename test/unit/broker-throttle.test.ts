/**
 * The broker's per-caller queue bound (`throttled`) is the caller's own excess, like the api's limits:
 * 429 problem+json with Retry-After and X-Request-Id, counted in podstore_api_throttled_total{reason=
 * "queue"}; for a command and for a token check alike (a token check refused so was a 503 before).
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerCallError } from '../../api/broker-client.ts';
import { BrokerError } from '../../protocol/frames.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

const counted = (metrics: string) =>
  Number(/podstore_api_throttled_total\{reason="queue"\} (\d+)/.exec(metrics)?.[1] ?? 0);

describe('a broker throttled refusal at the api', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function throttlingApi() {
    const built = await appWithBroker({
      call: () => Promise.reject(new BrokerCallError(BrokerError.THROTTLED)),
    });
    app = built.app;
    return built;
  }

  it('answers a command 429 problem+json with Retry-After, counted with reason queue', async () => {
    const { app: server, metrics } = await throttlingApi();
    expect(counted(await metrics())).toBe(0);
    const res = await server.inject({
      method: 'PUT',
      url: '/v1/users/alice',
      headers: { 'content-type': 'application/json', 'x-request-id': 'throttle-1' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('throttle-1');
    expect(res.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect(counted(await metrics())).toBe(1);
  });

  it('answers a token check the broker throttled 429 too, not 503, and counts it', async () => {
    const { app: server, metrics } = await throttlingApi();
    const res = await server.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: { authorization: `Bearer pst_${'a'.repeat(43)}` },
    });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(counted(await metrics())).toBe(1);
  });
});
