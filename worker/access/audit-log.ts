/**
 * The owner's audit log: one small document per entry under `users/<owner>/audit/`, named by inverted
 * time so that the store's ascending key order lists the newest first. Entries are only ever added.
 */
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../storage/object-store.ts';

export interface AuditEntry {
  time: string;
  actor: string | null;
  action: string;
  path?: string;
  /** `allowed`, or the error code the request ended with (`forbidden`, `not_found`, ...). */
  outcome: string;
  requestId?: string;
}

const prefix = (owner: string) => `users/${owner}/audit/`;
const MAX_TIME = 9_999_999_999_999;

export class AuditLog {
  constructor(
    private readonly store: ObjectStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async record(owner: string, entry: Omit<AuditEntry, 'time'>): Promise<void> {
    const now = this.clock();
    const name = `${String(MAX_TIME - now.getTime()).padStart(13, '0')}-${randomBytes(6).toString('hex')}`;
    const full: AuditEntry = { time: now.toISOString(), ...entry };
    await this.store.put(`${prefix(owner)}${name}.json`, Buffer.from(JSON.stringify(full)), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
  }

  /** Newest first, paginated with an opaque cursor. */
  async list(
    owner: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ entries: AuditEntry[]; next: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const startAfter =
      options.cursor === undefined
        ? undefined
        : `${prefix(owner)}${Buffer.from(options.cursor, 'base64url').toString('utf8')}`;
    const page = await this.store.list(prefix(owner), {
      limit,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    const entries = await Promise.all(
      page.items.map(async (item) => {
        const object = await this.store.get(item.key);
        return object === undefined ? undefined : (JSON.parse(object.body.toString('utf8')) as AuditEntry);
      }),
    );
    const next =
      page.next === undefined
        ? null
        : Buffer.from(page.next.slice(prefix(owner).length)).toString('base64url');
    return { entries: entries.filter((e): e is AuditEntry => e !== undefined), next };
  }
}
