/**
 * Server-side request forgery guard for webhooks: a webhook may reach only public addresses, unless
 * the operator's allow-list (WEBHOOK_ALLOW_HOSTS: `host[:port]` or CIDR entries) permits more. The
 * host is resolved and every address checked, at registration and again at each delivery, and the
 * delivery then connects to the address that was checked (no second lookup a DNS change could abuse).
 */
import { lookup } from 'node:dns/promises';
import { isIP, isIPv6 } from 'node:net';
import { embeddedIPv4, type IpRange, inIpRange, ipBytes } from '../../protocol/ip-address.ts';

export { ipBytes };

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

function cidr(text: string): IpRange {
  const [ip, bits] = text.split('/');
  const bytes = ipBytes(ip ?? '');
  const n = Number(bits);
  if (bytes === undefined || !Number.isInteger(n) || n < 0 || n > bytes.length * 8) {
    throw new TypeError(`not a CIDR: ${text}`);
  }
  return { bytes, bits: n };
}

const v4Ranges: [IpRange, AddressClass][] = (
  [
    ['0.0.0.0/8', 'unspecified'],
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'private'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'],
    ['172.16.0.0/12', 'private'],
    ['192.0.0.0/24', 'reserved'],
    ['192.0.2.0/24', 'reserved'],
    ['192.88.99.0/24', 'reserved'],
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'reserved'],
    ['198.51.100.0/24', 'reserved'],
    ['203.0.113.0/24', 'reserved'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved'],
  ] as const
).map(([range, cls]) => [cidr(range), cls]);

const v6Ranges: [IpRange, AddressClass][] = (
  [
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['::/96', 'reserved'],
    ['64:ff9b:1::/48', 'reserved'],
    ['100::/64', 'reserved'],
    ['2001::/23', 'reserved'],
    ['2001:db8::/32', 'reserved'],
    ['fc00::/7', 'private'],
    ['fe80::/10', 'link-local'],
    ['fec0::/10', 'private'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([range, cls]) => [cidr(range), cls]);

/** The IPv4 address an IPv6 address carries (every embedding form), else the bytes unchanged. */
function unwrap(bytes: Uint8Array): Uint8Array {
  return embeddedIPv4(bytes) ?? bytes;
}

const classifyIn = (bytes: Uint8Array): AddressClass => {
  for (const [range, cls] of bytes.length === 4 ? v4Ranges : v6Ranges) {
    if (inIpRange(bytes, range)) return cls;
  }
  return 'public';
};

/**
 * What kind of address `ip` is; anything unparsable counts as reserved. An IPv6 address that embeds an
 * IPv4 one is judged by both, the stricter winning: `::ffff:0:7f00:1` is loopback, and a NAT64 or 6to4
 * address of a public IPv4 is still whatever its IPv6 range says.
 */
export function classifyAddress(ip: string): AddressClass {
  const bytes = ipBytes(ip);
  if (bytes === undefined) return 'reserved';
  const v4 = embeddedIPv4(bytes);
  if (v4 !== undefined) {
    const cls = classifyIn(v4);
    if (cls !== 'public') return cls;
  }
  return classifyIn(bytes);
}

export interface AllowList {
  hosts: { host: string; port?: number }[];
  cidrs: IpRange[];
}

/** Parses WEBHOOK_ALLOW_HOSTS: `hooks.internal, 127.0.0.1:8080, [::1]:9000, 10.0.0.0/8`. */
export function parseAllowList(text: string): AllowList {
  const list: AllowList = { hosts: [], cidrs: [] };
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry.includes('/')) {
      try {
        list.cidrs.push(cidr(entry));
      } catch {
        throw new TypeError(`not a host[:port] or CIDR: ${entry}`);
      }
      continue;
    }
    let url: URL;
    try {
      url = new URL(`http://${isIPv6(entry) ? `[${entry}]` : entry}`);
    } catch {
      throw new TypeError(`not a host[:port] or CIDR: ${entry}`);
    }
    if (url.pathname !== '/' || url.username !== '' || url.search !== '') {
      throw new TypeError(`not a host[:port] or CIDR: ${entry}`);
    }
    list.hosts.push({ host: url.hostname, ...(url.port === '' ? {} : { port: Number(url.port) }) });
  }
  return list;
}

const effectivePort = (url: URL) =>
  url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

/**
 * Why `url`, resolving to `addresses`, may not be called; undefined when it may. A host[:port] entry
 * of the allow-list permits that host whatever it resolves to; a CIDR entry permits addresses in it.
 */
export function refusalReason(url: URL, addresses: string[], allow: AllowList): string | undefined {
  if (
    allow.hosts.some(
      (h) => h.host === url.hostname && (h.port === undefined || h.port === effectivePort(url)),
    )
  ) {
    return undefined;
  }
  if (addresses.length === 0) return `${url.hostname} does not resolve`;
  for (const address of addresses) {
    const cls = classifyAddress(address);
    if (cls === 'public') continue;
    const bytes = ipBytes(address);
    if (bytes !== undefined && allow.cidrs.some((c) => inIpRange(bytes, c) || inIpRange(unwrap(bytes), c)))
      continue;
    const what =
      ipBytes(url.hostname) === undefined ? `${url.hostname} resolves to ${address},` : `${address} is`;
    return `${what} a ${cls} address, which webhooks may not reach (an operator can permit it with WEBHOOK_ALLOW_HOSTS)`;
  }
  return undefined;
}

/** Checks a webhook URL's shape: http or https, a host, no credentials, at most 2048 characters. */
export function parseWebhookUrl(text: string): URL {
  if (text.length > 2048) throw new TypeError('a webhook URL is at most 2048 characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError('the webhook URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError('a webhook URL must be http or https');
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('a webhook URL must not carry credentials (the secret signs deliveries)');
  }
  if (url.hostname === '') throw new TypeError('a webhook URL needs a host');
  return url;
}

export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<PinnedAddress[]>;

/** Every address of `hostname` (an IP literal resolves to itself); none when it does not resolve. */
export const resolveHost: Resolver = async (hostname) => {
  const bare = hostname.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family !== 0) return [{ address: bare, family: family as 4 | 6 }];
  try {
    const found = await lookup(bare, { all: true, verbatim: true });
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  } catch {
    return [];
  }
};

export type GuardResult = { ok: true; pinned: PinnedAddress } | { ok: false; reason: string };

/** Resolves and checks a webhook URL; on success, the address to connect to. */
export class WebhookGuard {
  constructor(
    private readonly allow: AllowList,
    private readonly resolve: Resolver = resolveHost,
  ) {}

  async check(url: URL): Promise<GuardResult> {
    const addresses = await this.resolve(url.hostname);
    const reason = refusalReason(
      url,
      addresses.map((a) => a.address),
      this.allow,
    );
    const pinned = addresses[0];
    if (reason !== undefined) return { ok: false, reason };
    if (pinned === undefined) return { ok: false, reason: `${url.hostname} does not resolve` };
    return { ok: true, pinned };
  }
}
