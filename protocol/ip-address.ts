/**
 * IP addresses as bytes, and the IPv4 address an IPv6 address may carry. Every form that embeds one is
 * normalised to it, so a check of IPv4 ranges cannot be walked around in IPv6 spelling
 * (`::ffff:0:7f00:1` is 127.0.0.1 as surely as `127.0.0.1` is).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** 4 bytes for IPv4, 16 for IPv6 (brackets and zone ids dropped); undefined when not an address. */
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

const startsWith = (bytes: Uint8Array, prefix: number[]) => prefix.every((b, i) => bytes[i] === b);
const zeros = (n: number) => Array<number>(n).fill(0);

/**
 * The IPv4 address embedded in an IPv6 address, or undefined when it embeds none:
 * - IPv4-mapped `::ffff:a.b.c.d` (RFC 4291) and IPv4-translated `::ffff:0:a.b.c.d` (RFC 2765);
 * - IPv4-compatible `::a.b.c.d` (RFC 4291, deprecated; `::` and `::1` are themselves, not IPv4);
 * - NAT64 `64:ff9b::a.b.c.d` (RFC 6052) and local-use NAT64 `64:ff9b:1::/48` (RFC 8215, /48 layout);
 * - 6to4 `2002:AABB:CCDD::/48` (RFC 3056).
 */
export function embeddedIPv4(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16) return undefined;
  if (startsWith(bytes, [...zeros(10), 0xff, 0xff])) return bytes.slice(12);
  if (startsWith(bytes, [...zeros(8), 0xff, 0xff, 0, 0])) return bytes.slice(12);
  if (startsWith(bytes, zeros(12))) {
    const tail = (bytes[12] ?? 0) | (bytes[13] ?? 0) | (bytes[14] ?? 0) | ((bytes[15] ?? 0) & 0xfe);
    return tail === 0 ? undefined : bytes.slice(12); // `::` and `::1` are not IPv4
  }
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, ...zeros(8)])) return bytes.slice(12);
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 1]))
    return Uint8Array.from([bytes[6] ?? 0, bytes[7] ?? 0, bytes[9] ?? 0, bytes[10] ?? 0]);
  if (startsWith(bytes, [0x20, 0x02])) return bytes.slice(2, 6);
  return undefined;
}

/** A CIDR range: the addresses whose first `bits` bits are those of `bytes`. */
export interface IpRange {
  bytes: Uint8Array;
  bits: number;
}

/** Whether `bytes` lies in `range`; addresses of the other family never do. */
export function inIpRange(bytes: Uint8Array, range: IpRange): boolean {
  if (bytes.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.bits; bit += 8) {
    const take = Math.min(8, range.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const i = bit / 8;
    if (((bytes[i] ?? 0) & mask) !== ((range.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}
