/**
 * A cap on the connections one client holds open at once (API_MAX_CONNECTIONS_PER_IP): a connection
 * over it is closed the moment it is accepted, before a byte of it is read, so one client cannot take
 * every socket with slow or idle connections. A client is an IPv4 address or an IPv6 /64 (one host's
 * usual allocation, so a host cannot walk its own prefix to escape the cap).
 */
import type { Server } from 'node:net';
import { embeddedIPv4, ipBytes } from '../protocol/ip-address.ts';

/** The key connections are counted under: the IPv4 address (also when IPv4-mapped) or the IPv6 /64. */
export function clientKeyOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  const bytes = ipBytes(remoteAddress);
  if (bytes === undefined) return remoteAddress;
  const v4 = bytes.length === 4 ? bytes : embeddedIPv4(bytes);
  if (v4 !== undefined) return [...v4].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return `${groups.join(':')}::/64`;
}

export class ConnectionLimiter {
  readonly #open = new Map<string, number>();

  /** `max` 0: no cap. `onRefused` is told the client key of each connection closed at once. */
  constructor(
    readonly max: number,
    private readonly onRefused: (client: string) => void = () => {},
  ) {}

  /** Connections open now from `client`. */
  openFrom(client: string): number {
    return this.#open.get(client) ?? 0;
  }

  attach(server: Server): void {
    if (this.max <= 0) return;
    server.on('connection', (socket) => {
      const client = clientKeyOf(socket.remoteAddress);
      const open = this.openFrom(client);
      if (open >= this.max) {
        socket.destroy();
        this.onRefused(client);
        return;
      }
      this.#open.set(client, open + 1);
      socket.once('close', () => {
        const left = this.openFrom(client) - 1;
        if (left <= 0) this.#open.delete(client);
        else this.#open.set(client, left);
      });
    });
  }
}
