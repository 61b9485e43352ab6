/**
 * API_TRUSTED_PROXIES: the client address behind a trusted reverse proxy is the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy; an untrusted peer's X-Forwarded-For counts
 * for nothing. Pure resolution first, then the api's per-address limit of unauthenticated requests.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.ts';
import { clientAddressOf, parseTrustedProxies } from '../../api/trusted-proxies.ts';
import type { Outcome } from '../../protocol/outcome.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

describe('parseTrustedProxies', () => {
  it('matches addresses and CIDR ranges, IPv4 also as IPv4-mapped IPv6, and IPv6 ranges', () => {
    const trusted = parseTrustedProxies(' 10.0.0.0/8, 192.168.1.7 ,fd00::/8, ::1');
    expect(trusted.entries).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1']);
    for (const yes of ['10.1.2.3', '::ffff:10.9.9.9', '192.168.1.7', 'fd12::5', '::1'])
      expect(trusted.trusts(yes), yes).toBe(true);
    for (const no of ['11.0.0.1', '192.168.1.8', 'fe80::1', '::2', 'not-an-ip', '', undefined])
      expect(trusted.trusts(no), String(no)).toBe(false);
  });

  it('trusts nobody when empty (the default)', () => {
    const none = parseTrustedProxies('');
    expect(none.entries).toEqual([]);
    expect(none.trusts('127.0.0.1')).toBe(false);
    expect(loadApiConfig({}).trustedProxies.trusts('127.0.0.1')).toBe(false);
  });

  it('refuses entries that are not addresses or ranges, at configuration time', () => {
    for (const bad of ['10.0.0.0/33', 'proxy', '1.2.3.4/x', '1.2.3.4/8/8', 'fd00::/129', '10.0.0.0/'])
      expect(() => parseTrustedProxies(bad), bad).toThrow();
    expect(() => loadApiConfig({ API_TRUSTED_PROXIES: '10.0.0.0/8,nginx' })).toThrow(/API_TRUSTED_PROXIES/);
  });

  it('reads IPv4-mapped ranges as the IPv4 range they cover', () => {
    expect(parseTrustedProxies('::ffff:10.0.0.0/104').trusts('10.200.0.1')).toBe(true);
    expect(parseTrustedProxies('::ffff:10.0.0.0/104').trusts('11.0.0.1')).toBe(false);
  });
});

describe('clientAddressOf', () => {
  const trusted = parseTrustedProxies('10.0.0.0/8');

  it('is the peer when the peer is not trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddressOf('203.0.113.9', '198.51.100.1', trusted)).toBe('203.0.113.9');
    expect(clientAddressOf('203.0.113.9', '10.0.0.1', trusted)).toBe('203.0.113.9');
    expect(clientAddressOf('10.0.0.1', '198.51.100.1', parseTrustedProxies(''))).toBe('10.0.0.1');
  });

  it('is the right-most untrusted entry behind a trusted proxy: entries a client prepends do not count', () => {
    expect(clientAddressOf('10.0.0.1', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddressOf('10.0.0.1', '6.6.6.6, 198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddressOf('10.0.0.1', '6.6.6.6, 198.51.100.1, 10.2.0.4', trusted)).toBe('198.51.100.1');
    expect(clientAddressOf('::ffff:10.0.0.1', '2001:db8::7', trusted)).toBe('2001:db8::7');
  });

  it('reads every X-Forwarded-For header, in order', () => {
    expect(clientAddressOf('10.0.0.1', ['6.6.6.6', '198.51.100.1, 10.0.0.2'], trusted)).toBe('198.51.100.1');
  });

  it('is the left-most entry when all are trusted, and the peer without X-Forwarded-For', () => {
    expect(clientAddressOf('10.0.0.1', '10.0.0.3, 10.0.0.2', trusted)).toBe('10.0.0.3');
    expect(clientAddressOf('10.0.0.1', undefined, trusted)).toBe('10.0.0.1');
  });

  it('never takes a malformed entry as the address: the last trusted hop stands', () => {
    expect(clientAddressOf('10.0.0.1', 'whoever-i-like', trusted)).toBe('10.0.0.1');
    expect(clientAddressOf('10.0.0.1', 'junk, 10.0.0.2', trusted)).toBe('10.0.0.2');
    expect(clientAddressOf('10.0.0.1', '', trusted)).toBe('10.0.0.1');
  });
});

describe('the per-address limit of unauthenticated requests, through a proxy', () => {
  const PROXY = '10.0.0.1';
  const LIMIT = 2;
  let app: FastifyInstance | undefined;
  let release: () => void = () => {};

  afterEach(async () => {
    release();
    await app?.close();
    app = undefined;
  });

  /** An api whose sign-ups stay in flight (holding their address's slot) until `release`. */
  async function api() {
    const callers: string[] = [];
    const waiting: ((outcome: Outcome) => void)[] = [];
    release = () => {
      for (const settle of waiting.splice(0))
        settle({ ok: false, error: { code: 'invalid', detail: 'test over' } } as Outcome);
    };
    const built = await appWithBroker({
      trustedProxies: parseTrustedProxies(PROXY),
      requestsPerAddress: LIMIT,
      call: (_service, _command, _args, options) => {
        callers.push(options.caller ?? '');
        return new Promise((resolve) => waiting.push(resolve));
      },
    });
    app = built.app;
    return { app: built.app, callers };
  }

  /** A sign-up from `remoteAddress`; its answer if one came within 300 ms, else undefined (in flight). */
  async function signUp(server: FastifyInstance, n: number, remoteAddress: string, forwardedFor?: string) {
    const answer = server.inject({
      method: 'PUT',
      url: `/v1/users/user-${n}`,
      remoteAddress,
      headers: {
        'content-type': 'application/json',
        ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
      },
      payload: '{}',
    });
    return Promise.race([
      answer,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 300)),
    ]) as Promise<LightMyRequestResponse | undefined>;
  }

  it('an untrusted peer cannot escape its limit with X-Forwarded-For', async () => {
    const { app: server, callers } = await api();
    const answers = [];
    for (let n = 0; n < LIMIT + 1; n++)
      answers.push(await signUp(server, n, '203.0.113.9', `198.51.100.${n + 1}`));
    expect(answers.slice(0, LIMIT)).toEqual([undefined, undefined]);
    expect(answers[LIMIT]?.statusCode).toBe(429);
    expect(callers).toEqual(['ip:203.0.113.9', 'ip:203.0.113.9']);
  });

  it("a trusted proxy's clients are counted apart, each by its own address", async () => {
    const { app: server, callers } = await api();
    // Three clients through the proxy, two requests each: every one is admitted.
    const answers = [];
    for (let n = 0; n < 6; n++) answers.push(await signUp(server, n, PROXY, `198.51.100.${(n % 3) + 1}`));
    expect(answers).toEqual(Array(6).fill(undefined));
    expect(new Set(callers)).toEqual(new Set(['ip:198.51.100.1', 'ip:198.51.100.2', 'ip:198.51.100.3']));
    // One of them, over its limit, cannot escape it by prepending addresses of its choosing.
    const spoofed = await signUp(server, 6, PROXY, '203.0.113.77, 198.51.100.1');
    expect(spoofed?.statusCode).toBe(429);
    expect(spoofed?.headers['retry-after']).toBe('1');
  });
});
