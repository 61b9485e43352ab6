/**
 * Server-side request forgery guard for webhooks: a webhook may reach only public addresses, unless
 * the operator's allow-list (WEBHOOK_ALLOW_HOSTS: `host[:port]` or CIDR entries) permits more. The
 * host is resolved and every address checked, at registration and again at each delivery, and the
 * delivery then connects to the address that was checked (no second lookup a DNS change could abuse).
 */
import { lookup } from 'node:dns/promises';
import { isIP, isIPv4, isIPv6 } from 'node:net';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/** 4 bytes for IPv4, 16 for IPv6 (zone ids dropped); undefined when not an address. */
export function ipBytes(text: string): Uint8Array | undefined {
  let ip = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return undefined;
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) becomes its two hex groups (`::ffff:102:304`).
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    ip = `${ip.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const [head = '', tail] = ip.split('::');
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function cidr(text: string): Cidr {
  const [ip, bits] = text.split('/');
  const bytes = ipBytes(ip ?? '');
  const n = Number(bits);
  if (bytes === undefined || !Number.isInteger(n) || n < 0 || n > bytes.length * 8) {
    throw new TypeError(`not a CIDR: ${text}`);
  }
  return { bytes, bits: n };
}

function contains(range: Cidr, bytes: Uint8Array): boolean {
  if (range.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < range.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    const i = Math.floor(bit / 8);
    if (((range.bytes[i] ?? 0) & mask) !== ((bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

const v4Ranges: [Cidr, AddressClass][] = (
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

const v6Ranges: [Cidr, AddressClass][] = (
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

const MAPPED = cidr('::ffff:0:0/96');
const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4), else the bytes unchanged. */
function unwrap(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  if (contains(MAPPED, bytes) || contains(NAT64, bytes)) return bytes.slice(12);
  if (contains(SIX_TO_FOUR, bytes)) return bytes.slice(2, 6);
  return bytes;
}

/** What kind of address `ip` is; anything unparsable counts as reserved. */
export function classifyAddress(ip: string): AddressClass {
  const raw = ipBytes(ip);
  if (raw === undefined) return 'reserved';
  const bytes = unwrap(raw);
  for (const [range, cls] of bytes.length === 4 ? v4Ranges : v6Ranges) {
    if (contains(range, bytes)) return cls;
  }
  return 'public';
}

export interface AllowList {
  hosts: { host: string; port?: number }[];
  cidrs: Cidr[];
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
    if (bytes !== undefined && allow.cidrs.some((c) => contains(c, bytes) || contains(c, unwrap(bytes))))
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
