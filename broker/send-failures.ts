/**
 * What the broker does when a send fails. Its ROUTER sockets set `mandatory`, and zeromq.js never waits
 * on a ROUTER (it is always writable): a send to a peer that is gone rejects at once with EHOSTUNREACH,
 * one to a peer whose queue is at the high-water mark with EAGAIN. So nothing blocks the broker and
 * nothing is dropped silently: every failure is counted by side and reason, and logged, at most one line
 * per side and reason every `logEveryMs` (a flood must not turn into a flood of log lines).
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../runtime/logger.ts';

export type SendFailureReason = 'peer_gone' | 'peer_full' | 'error';

export function reasonOf(err: unknown): SendFailureReason {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'EHOSTUNREACH') return 'peer_gone';
  if (code === 'EAGAIN') return 'peer_full';
  return 'error';
}

export class SendFailureLog {
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly counter: Counter<'side' | 'reason'>,
    private readonly logEveryMs = 5000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** `messages`: how many messages the failed send carried (a batch carries several). */
  record(side: 'client' | 'worker', peer: Buffer | undefined, err: unknown, messages = 1): void {
    const reason = reasonOf(err);
    this.counter.inc({ side, reason }, messages);
    const key = `${side}/${reason}`;
    const now = this.clock();
    const last = this.#lastLogged.get(key);
    if (last !== undefined && now - last.at < this.logEveryMs) {
      last.suppressed += messages;
      return;
    }
    this.#lastLogged.set(key, { at: now, suppressed: 0 });
    this.logger.warn(
      {
        side,
        reason,
        peer: peer?.toString('hex'),
        messages,
        err: (err as Error | undefined)?.message,
        alsoSince: last?.suppressed ?? 0,
      },
      reason === 'peer_full'
        ? 'send failed: the peer does not read (high-water mark reached); message dropped'
        : reason === 'peer_gone'
          ? 'send failed: the peer is gone; message dropped'
          : 'send failed; message dropped',
    );
  }
}
