/** The webhook SSRF guard: address classification (IPv4, IPv6, embedded IPv4), the allow-list, URL shape. */
import { describe, expect, it } from 'vitest';
import {
  classifyAddress,
  parseAllowList,
  parseWebhookUrl,
  refusalReason,
  WebhookGuard,
} from '../../worker/webhooks/ssrf-guard.ts';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd00::1', 'private'],
    ['fc12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:808:808::', 'public'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'reserved'],
    // Every IPv6 spelling of an IPv4 address is judged as that address.
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:a00:1', 'private'],
    ['::ffff:0:a9fe:a9fe', 'link-local'],
    ['::ffff:0:808:808', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::a9fe:a9fe', 'link-local'],
    ['::8.8.8.8', 'reserved'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1:7f00:0:100::', 'loopback'],
    ['64:ff9b:1:a00:0:100::', 'private'],
    ['64:ff9b:1:808:8:800::', 'reserved'],
    ['2002:a00:1::', 'private'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:7f00:1:ffff::1', 'loopback'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });
});

describe('parseAllowList', () => {
  it('reads hosts with and without ports, IPv6 hosts and CIDRs', () => {
    const list = parseAllowList(' hooks.internal , 127.0.0.1:8080, [::1]:9000, ::1, 10.0.0.0/8, fd00::/8,');
    expect(list.hosts).toEqual([
      { host: 'hooks.internal' },
      { host: '127.0.0.1', port: 8080 },
      { host: '[::1]', port: 9000 },
      { host: '[::1]' },
    ]);
    expect(list.cidrs).toHaveLength(2);
  });

  it('is empty for an empty setting and refuses nonsense', () => {
    expect(parseAllowList('')).toEqual({ hosts: [], cidrs: [] });
    expect(() => parseAllowList('10.0.0.0/33')).toThrow(/CIDR: 10.0.0.0\/33/);
    expect(() => parseAllowList('http://x/y')).toThrow(/host/);
    expect(() => parseAllowList('a b')).toThrow(/host/);
  });
});

describe('refusalReason', () => {
  const none = parseAllowList('');
  const url = (text: string) => new URL(text);

  it('allows public addresses and refuses the others, naming the address and its class', () => {
    expect(refusalReason(url('https://example.com/hook'), ['93.184.216.34'], none)).toBeUndefined();
    expect(refusalReason(url('http://127.0.0.1:9/'), ['127.0.0.1'], none)).toMatch(
      /127\.0\.0\.1 is a loopback address.*WEBHOOK_ALLOW_HOSTS/,
    );
    expect(refusalReason(url('http://evil.example/'), ['93.184.216.34', '10.0.0.5'], none)).toMatch(
      /evil\.example resolves to 10\.0\.0\.5, a private address/,
    );
    expect(refusalReason(url('http://nowhere.invalid/'), [], none)).toMatch(/does not resolve/);
  });

  it('lets a host[:port] entry permit that host (on that port only)', () => {
    const allow = parseAllowList('127.0.0.1:8080, internal.example');
    expect(refusalReason(url('http://127.0.0.1:8080/x'), ['127.0.0.1'], allow)).toBeUndefined();
    expect(refusalReason(url('http://127.0.0.1:8081/x'), ['127.0.0.1'], allow)).toMatch(/loopback/);
    expect(refusalReason(url('http://internal.example/'), ['10.1.1.1'], allow)).toBeUndefined();
    expect(refusalReason(url('https://internal.example:8443/'), ['10.1.1.1'], allow)).toBeUndefined();
    expect(refusalReason(url('http://localhost:8080/'), ['127.0.0.1'], allow)).toMatch(/loopback/);
  });

  it('lets a CIDR entry permit addresses inside it, including IPv4-mapped ones', () => {
    const allow = parseAllowList('10.0.0.0/8');
    expect(refusalReason(url('http://a.example/'), ['10.9.9.9'], allow)).toBeUndefined();
    expect(refusalReason(url('http://[::ffff:10.9.9.9]/'), ['::ffff:a09:909'], allow)).toBeUndefined();
    expect(refusalReason(url('http://a.example/'), ['10.9.9.9', '192.168.0.1'], allow)).toMatch(/192\.168/);
  });
});

describe('parseWebhookUrl', () => {
  it('takes http and https URLs without credentials', () => {
    expect(parseWebhookUrl('https://example.com/hook?x=1').href).toBe('https://example.com/hook?x=1');
    expect(() => parseWebhookUrl('ftp://example.com/')).toThrow(/http or https/);
    expect(() => parseWebhookUrl('https://user:pw@example.com/')).toThrow(/credentials/);
    expect(() => parseWebhookUrl('/relative')).toThrow(/absolute/);
    expect(() => parseWebhookUrl(`https://example.com/${'a'.repeat(2100)}`)).toThrow(/2048/);
  });

  it('normalises numeric hosts, so that odd spellings of loopback are still caught', () => {
    expect(parseWebhookUrl('http://2130706433/').hostname).toBe('127.0.0.1');
    expect(parseWebhookUrl('http://0x7f.1/').hostname).toBe('127.0.0.1');
    expect(parseWebhookUrl('http://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]');
  });
});

describe('WebhookGuard', () => {
  it('checks every address the host resolves to and pins the one to connect to', async () => {
    const guard = new WebhookGuard(parseAllowList(''), async (host) =>
      host === 'good.example'
        ? [{ address: '93.184.216.34', family: 4 }]
        : [
            { address: '93.184.216.34', family: 4 },
            { address: '::1', family: 6 },
          ],
    );
    expect(await guard.check(new URL('https://good.example/'))).toEqual({
      ok: true,
      pinned: { address: '93.184.216.34', family: 4 },
    });
    const mixed = await guard.check(new URL('https://rebind.example/'));
    expect(mixed.ok).toBe(false);
  });

  it('resolves IP literals to themselves', async () => {
    const guard = new WebhookGuard(parseAllowList(''));
    expect(await guard.check(new URL('http://[::1]:9/'))).toMatchObject({ ok: false, reason: /loopback/ });
    expect(await guard.check(new URL('http://169.254.169.254/latest/meta-data'))).toMatchObject({
      ok: false,
      reason: /link-local/,
    });
  });
});
