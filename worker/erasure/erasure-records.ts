/**
 * What an account erasure keeps while it runs, outside the pod it erases:
 *
 *   erasure/tombstones/<name>.json   the tombstone: written before anything is removed, it holds the
 *                                    name (sign-up answers 409) until the purge is complete; it also
 *                                    carries the purge's lease and progress
 *   erasure/receipts/<id>.json       the receipt: the erasure's status for whoever asked for it
 *                                    (`GET /v1/erasures/{id}`); no name, nothing of the account
 */

import type { ObjectStore } from '../storage/object-store.ts';
import { PreconditionFailedError } from '../storage/object-store.ts';

export interface Tombstone {
  v: 1;
  username: string;
  /** The erased account's incarnation id and creation time. */
  incarnation: string;
  createdAt: string;
  erasureId: string;
  requestedAt: string;
  /** Wall-clock ms when the account was gone (profile removed, tokens revoked); absent before. */
  accountGoneAt?: number;
  /** Objects removed so far. */
  removed: number;
  /** Who runs the purge now, until when (wall-clock ms); a lapsed lease may be taken over. */
  lease?: { holder: string; until: number };
}

export type ErasureState = 'erasing' | 'done';

export interface ErasureReceipt {
  id: string;
  state: ErasureState;
  requestedAt: string;
  completedAt: string | null;
  objectsRemoved: number;
}

export const TOMBSTONES_PREFIX = 'erasure/tombstones/';
export const RECEIPTS_PREFIX = 'erasure/receipts/';
export const tombstoneKey = (username: string) => `${TOMBSTONES_PREFIX}${username}.json`;
export const receiptKey = (id: string) => `${RECEIPTS_PREFIX}${id}.json`;
export const ERASURE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const options = { contentType: 'application/json' };

export class ErasureRecords {
  constructor(private readonly store: ObjectStore) {}

  async tombstone(username: string): Promise<{ tombstone: Tombstone; etag: string } | undefined> {
    const object = await this.store.get(tombstoneKey(username));
    if (object === undefined) return undefined;
    return { tombstone: JSON.parse(object.body.toString('utf8')) as Tombstone, etag: object.etag };
  }

  /** Creates the tombstone; undefined when one exists already (PreconditionFailed is not an error here). */
  async createTombstone(tombstone: Tombstone): Promise<string | undefined> {
    try {
      return (
        await this.store.put(tombstoneKey(tombstone.username), json(tombstone), {
          ...options,
          ifNoneMatch: '*',
        })
      ).etag;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return undefined;
      throw error;
    }
  }

  /** Replaces the tombstone if it is still at `etag`; PreconditionFailedError otherwise. */
  async saveTombstone(tombstone: Tombstone, etag: string): Promise<string> {
    return (
      await this.store.put(tombstoneKey(tombstone.username), json(tombstone), { ...options, ifMatch: etag })
    ).etag;
  }

  async removeTombstone(username: string): Promise<void> {
    await this.store.delete(tombstoneKey(username));
  }

  /** Names with a tombstone, in name order, a page at a time. */
  async pending(limit: number, startAfter?: string): Promise<{ names: string[]; next?: string }> {
    const page = await this.store.list(TOMBSTONES_PREFIX, {
      limit,
      ...(startAfter === undefined ? {} : { startAfter: tombstoneKey(startAfter) }),
    });
    const names = page.items.map((item) => item.key.slice(TOMBSTONES_PREFIX.length, -'.json'.length));
    return { names, ...(page.next === undefined ? {} : { next: names[names.length - 1] }) };
  }

  async receipt(id: string): Promise<ErasureReceipt | undefined> {
    if (!ERASURE_ID_PATTERN.test(id)) return undefined;
    const object = await this.store.get(receiptKey(id));
    return object === undefined ? undefined : (JSON.parse(object.body.toString('utf8')) as ErasureReceipt);
  }

  async saveReceipt(receipt: ErasureReceipt): Promise<void> {
    await this.store.put(receiptKey(receipt.id), json(receipt), options);
  }

  /**
   * Removes done receipts last written before `cutoff` (ms), one page per call, from `startAfter` on;
   * returns how many, and where the next call goes on (undefined: from the start again).
   */
  async expireReceipts(
    cutoff: number,
    limit: number,
    startAfter?: string,
  ): Promise<{ expired: number; next?: string }> {
    const page = await this.store.list(RECEIPTS_PREFIX, {
      limit,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    const old = page.items.filter((item) => item.lastModified.getTime() < cutoff).map((item) => item.key);
    let expired = 0;
    for (const key of old) {
      const object = await this.store.get(key);
      if (object === undefined) continue;
      const receipt = JSON.parse(object.body.toString('utf8')) as ErasureReceipt;
      if (receipt.state === 'done') {
        await this.store.delete(key);
        expired++;
      }
    }
    return { expired, ...(page.next === undefined ? {} : { next: page.next }) };
  }
}
