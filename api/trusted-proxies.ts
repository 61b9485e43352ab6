/**
 * Trusted proxies (API_TRUSTED_PROXIES): the client of a request that comes through a trusted reverse
 * proxy is the address that proxy saw, taken from `X-Forwarded-For`. The address used is the right-most
 * entry that is not itself a trusted proxy, walking from the TCP peer leftwards: entries left of it were
 * written by the client, and a client can write anything there. A peer that is not trusted is the client,
 * whatever it sends. See docs/security/fairness.md.
 */
import { type IpRange, inIpRange, ipBytes } from '../protocol/ip-address.ts';

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`, how a dual-stack socket shows an IPv4 peer) as the IPv4 it is. */
function normalised(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  return bytes[10] === 0xff && bytes[11] === 0xff ? bytes.slice(12) : bytes;
}

function parseRange(entry: string): IpRange {
  const [address = '', prefix, extra] = entry.split('/');
  const raw = extra === undefined ? ipBytes(address) : undefined;
  if (raw === undefined) throw new Error(`"${entry}" is not an address or a CIDR range`);
  const mapped = raw.length === 16 && normalised(raw).length === 4;
  const bytes = normalised(raw);
  let bits = bytes.length * 8;
  if (prefix !== undefined) {
    const n = /^\d{1,3}$/.test(prefix) ? Number(prefix) - (mapped ? 96 : 0) : Number.NaN;
    if (!(n >= 0 && n <= bytes.length * 8)) throw new Error(`"${entry}" has a prefix length out of range`);
    bits = n;
  }
  return { bytes, bits };
}

export interface TrustedProxies {
  /** The entries as configured (for logs). */
  readonly entries: readonly string[];
  /** Whether a peer at `address` is a trusted proxy; anything that is not an IP address is not. */
  trusts(address: string | undefined): boolean;
}

/** Parses API_TRUSTED_PROXIES: a comma list of addresses and CIDR ranges, IPv4 or IPv6; empty: none. */
export function parseTrustedProxies(list: string): TrustedProxies {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const ranges = entries.map(parseRange);
  return {
    entries,
    trusts(address) {
      if (address === undefined || ranges.length === 0) return false;
      const raw = ipBytes(address.trim());
      if (raw === undefined) return false;
      const bytes = normalised(raw);
      return ranges.some((range) => inIpRange(bytes, range));
    },
  };
}

/**
 * The client's address: the TCP peer when it is not a trusted proxy; else, walking `X-Forwarded-For`
 * (every value, in order, each a comma list) from the right, the first entry that is not a trusted
 * proxy. When every entry is trusted, the left-most. An entry that is not an address stops the walk and
 * the last trusted hop stands (a client never gets to pick an arbitrary key to be counted under).
 */
export function clientAddressOf(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: TrustedProxies,
): string | undefined {
  if (!trusted.trusts(peer) || forwardedFor === undefined) return peer;
  const hops = (typeof forwardedFor === 'string' ? [forwardedFor] : forwardedFor)
    .flatMap((value) => value.split(','))
    .map((hop) => hop.trim());
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? '';
    // A malformed entry cannot be an address to count by: the last good hop's view stands.
    if (ipBytes(hop) === undefined) return client;
    client = hop;
    if (!trusted.trusts(hop)) return hop;
  }
  return client;
}
