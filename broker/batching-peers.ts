/**
 * The peers of one broker socket that read BATCH messages: a worker says so in READY, a client on its
 * `broker.status` pings, and any peer that sends a BATCH has shown it reads them. Every other peer (an
 * older api or worker) gets its messages one by one.
 *
 * Bounded: routing ids are per connection, and a hostile client can open many. When full, the peer
 * that said so longest ago is forgotten; that only costs it batching (its messages go one by one)
 * until it says so again (the api does on every ping).
 */
export class BatchingPeers {
  readonly #peers = new Map<string, true>();

  constructor(private readonly max = 4096) {}

  add(identity: Buffer): void {
    const key = identity.toString('latin1');
    if (this.#peers.has(key)) return;
    if (this.#peers.size >= this.max) {
      const oldest = this.#peers.keys().next().value;
      if (oldest !== undefined) this.#peers.delete(oldest);
    }
    this.#peers.set(key, true);
  }

  has(identity: Buffer | undefined): boolean {
    return identity !== undefined && this.#peers.has(identity.toString('latin1'));
  }

  get size(): number {
    return this.#peers.size;
  }
}
