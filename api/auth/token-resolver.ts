/**
 * Who a bearer token belongs to. Only the token's SHA-256 goes to the workers; the answer is kept for at
 * most AUTH_CACHE_MS (1 s at most), so a revoked token stops working on every api replica within a second
 * while a busy client does not cost a round trip per request.
 */

import type { Outcome } from '../../protocol/outcome.ts';
import { hashToken } from '../../protocol/tokens.ts';
import type { CallOptions } from '../broker-client.ts';

export type ResolveCall = (hash: string, options: CallOptions) => Promise<Outcome>;

const MAX_ENTRIES = 10_000;

export class TokenResolver {
  readonly #cache = new Map<string, { username: string | null; until: number }>();
  /** Checks under way, by hash: concurrent requests with one token share one round trip. */
  readonly #inFlight = new Map<string, Promise<string | null>>();

  constructor(
    private readonly call: ResolveCall,
    private readonly ttlMs: number,
  ) {}

  /** Drops what is known of a token (its account was just deleted through this api). */
  forget(token: string): void {
    this.forgetHash(hashToken(token));
  }

  /** Drops what is known of a token hash (revoked: told by a worker over NATS). */
  forgetHash(hash: string): void {
    this.#cache.delete(hash);
  }

  /** Forgets everything (after a NATS reconnect, revocations may have been missed). */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * The username, or null for an unknown, expired or revoked token. Throws when no worker answers.
   * `caller` is the fairness key of the check (the client's address).
   */
  async resolve(token: string, requestId: string, caller?: string): Promise<string | null> {
    const hash = hashToken(token);
    const cached = this.#cache.get(hash);
    if (cached !== undefined && cached.until > Date.now()) return cached.username;
    const running = this.#inFlight.get(hash);
    if (running !== undefined) return running;
    const check = this.#check(hash, requestId, caller).finally(() => this.#inFlight.delete(hash));
    this.#inFlight.set(hash, check);
    return check;
  }

  async #check(hash: string, requestId: string, caller: string | undefined): Promise<string | null> {
    const now = Date.now();
    const outcome = await this.call(hash, {
      actor: null,
      requestId,
      idempotent: true,
      timeoutMs: 5000,
      ...(caller === undefined ? {} : { caller }),
    });
    if (!outcome.ok) throw new Error(`token resolution failed: ${outcome.error.code}`);
    const username = (outcome.value as { username?: string } | null)?.username ?? null;
    if (this.ttlMs > 0) {
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(hash, { username, until: now + this.ttlMs });
    }
    return username;
  }
}
