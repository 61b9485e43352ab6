/**
 * The quota seen from one file write: what files-service.ts calls around its upload and commit.
 *
 *   begin   reserve before the first byte: the declared length (less the size of the file it replaces)
 *           and a file if it is new; without a length, one reserve step at a time
 *   meter   the body passes through here: a part that would pass the hold grows it first, or the
 *           upload stops with quota_exceeded before that part reaches the store
 *   cover   before the commit: the hold covers the real change against the version being replaced
 *   settle  after the commit: the change moves into the pod's usage; release on any failure
 */
import type { Holding } from '../access/access-service.ts';
import { type Amount, budgetsFor, writeDelta } from './quota-policy.ts';
import type { Hold, UsageLedger } from './usage-ledger.ts';

export interface WriteTarget {
  owner: string;
  /** Who writes: the owner, or a grantee whose budgeted entries are charged too. */
  actor: string | null;
  holding: Holding;
  path: string;
  /** The file as planned (its size is given back by the write); undefined for a new file. */
  current: { size: number } | undefined;
  /** Content-Length of the upload, when the client sent one. */
  declaredBytes?: number | undefined;
  /** The id of a reservation held for this write beforehand (a resumable upload's): taken over. */
  reservation?: string | undefined;
}

export class WriteQuota {
  constructor(readonly ledger: UsageLedger) {}

  async begin(target: WriteTarget): Promise<WriteCharge> {
    const budgets = this.#budgets(target);
    const files = target.current === undefined ? 1 : 0;
    const offset = target.current?.size ?? 0;
    const declared = target.declaredBytes;
    const known = declared !== undefined && Number.isSafeInteger(declared) && declared >= 0;
    const hold = known
      ? await this.ledger.reserve(
          target.owner,
          { bytes: Math.max(0, declared - offset), files },
          budgets,
          'exact',
          { as: target.reservation },
        )
      : await this.ledger.reserve(target.owner, { bytes: 0, files }, budgets, 'step', {
          as: target.reservation,
        });
    return new WriteCharge(hold, offset);
  }

  /**
   * Holds room for a resumable upload until `until` (its expiry), under `id`: all its declared bytes,
   * not their difference with the file it will replace, because its parts are stored beside that file
   * until it completes. So unfinished uploads can never hold more than the pod's free room (nor a
   * grantee's budget). The write that completes the upload takes the hold over (begin with
   * `reservation: id`); a deleted or expired upload drops it (UsageLedger.forget).
   */
  async reserveUpload(target: WriteTarget, id: string, until: Date): Promise<void> {
    const files = target.current === undefined ? 1 : 0;
    await this.ledger.reserve(
      target.owner,
      { bytes: Math.max(0, target.declaredBytes ?? 0), files },
      this.#budgets(target),
      'exact',
      { as: id, until },
    );
  }

  #budgets(target: WriteTarget) {
    return target.holding.owner || target.actor === null
      ? []
      : budgetsFor(target.actor, target.holding.entries, target.path, this.ledger.now);
  }
}

export class WriteCharge {
  constructor(
    private readonly hold: Hold,
    /** Bytes of the file being replaced: they are given back, so the hold needs only what passes them. */
    private readonly offset: number,
  ) {}

  async *meter(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let received = 0;
    for await (const chunk of source) {
      received += chunk.length;
      await this.hold.cover({ bytes: received - this.offset, files: this.hold.amount.files }, 'step');
      yield chunk;
    }
  }

  /** Before the commit against `current` (the version the record write is conditional on). */
  cover(size: number, current: { size: number } | undefined): Promise<void> {
    return this.hold.cover(writeDelta(size, current), 'exact');
  }

  /** After the commit: counts the change; a failure here leaves a drift for a recount, never an error. */
  async settle(size: number, replaced: { size: number } | undefined): Promise<void> {
    await this.hold.settle(writeDelta(size, replaced)).catch(() => undefined);
  }

  release(): Promise<void> {
    return this.hold.release();
  }
}

export type { Amount };
