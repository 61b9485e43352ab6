/**
 * Invalidation messages: "drop what you cached about this", sent to every api replica and worker over
 * core NATS (not kept: a process that is away misses them). Subjects are `podstore.invalidate.<kind>`,
 * e.g. `podstore.invalidate.token.revoked`; the body is JSON {kind, owner, key?, time}. After a
 * reconnect, messages may have been missed, so `resync` handlers run: flush everything.
 */
import { Events, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from '../../runtime/logger.ts';

export const INVALIDATION_KINDS = ['token.revoked', 'grant.changed'] as const;
export type InvalidationKind = (typeof INVALIDATION_KINDS)[number];
export const INVALIDATION_ROOT = 'podstore.invalidate';

export interface Invalidation {
  kind: InvalidationKind;
  /** The pod (or account) concerned. */
  owner: string;
  /** What exactly: a token id, a grantee. */
  key?: string;
  time: string;
}

export const invalidationSubject = (kind: InvalidationKind) => `${INVALIDATION_ROOT}.${kind}`;

export function parseInvalidation(subject: string, text: string): Invalidation | undefined {
  try {
    const value = JSON.parse(text) as Partial<Invalidation>;
    const kind = subject.slice(INVALIDATION_ROOT.length + 1);
    if (!(INVALIDATION_KINDS as readonly string[]).includes(kind) || value.kind !== kind) return undefined;
    if (typeof value.owner !== 'string' || typeof value.time !== 'string') return undefined;
    if (value.key !== undefined && typeof value.key !== 'string') return undefined;
    return {
      kind: value.kind,
      owner: value.owner,
      time: value.time,
      ...(value.key === undefined ? {} : { key: value.key }),
    };
  } catch {
    return undefined;
  }
}

type Handler = (message: Invalidation) => void;

export class Invalidations {
  readonly #handlers = new Map<InvalidationKind, Set<Handler>>();
  readonly #resync = new Set<() => void>();
  #subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to every invalidation subject; call once. */
  start(): void {
    this.#subscription = this.nc.subscribe(`${INVALIDATION_ROOT}.>`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const message = parseInvalidation(msg.subject, msg.string());
        if (message === undefined) {
          this.logger.warn({ subject: msg.subject }, 'malformed invalidation message: ignored');
          return;
        }
        for (const handler of this.#handlers.get(message.kind) ?? []) this.#run(() => handler(message));
      },
    });
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === Events.Reconnect) for (const handler of this.#resync) this.#run(handler);
      }
    })();
  }

  /** Tells every process; fire and forget (buffered by the client while reconnecting). */
  publish(kind: InvalidationKind, owner: string, key?: string): void {
    const message: Invalidation = {
      kind,
      owner,
      time: new Date().toISOString(),
      ...(key === undefined ? {} : { key }),
    };
    this.nc.publish(invalidationSubject(kind), JSON.stringify(message));
  }

  /** Runs `handler` for each message of this kind; returns the unsubscribe function. */
  on(kind: InvalidationKind, handler: Handler): () => void {
    const set = this.#handlers.get(kind) ?? new Set();
    set.add(handler);
    this.#handlers.set(kind, set);
    return () => set.delete(handler);
  }

  /** Runs `handler` after each reconnect (messages may have been missed meanwhile). */
  onResync(handler: () => void): () => void {
    this.#resync.add(handler);
    return () => this.#resync.delete(handler);
  }

  stop(): void {
    this.#subscription?.unsubscribe();
  }

  #run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err }, 'invalidation handler failed');
    }
  }
}
