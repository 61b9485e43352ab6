/**
 * Where grants live: one JSON document per (owner, grantee), `users/<owner>/grants/<grantee>.json`,
 * holding every scope the grantee was given. Read on each access by a non-owner, so a revocation takes
 * effect on the very next request.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import type { DelegatedEntry } from './delegation.ts';

export interface GrantEntryRecord extends DelegatedEntry {
  grantedAt: string;
}

export interface GrantDocument {
  owner: string;
  grantee: string;
  entries: GrantEntryRecord[];
  updatedAt: string;
  /** Fresh for each document created: entries delegated under an earlier grant of the same name never count. */
  grantId?: string;
  /** createdAt of the grantee's account: a grant never passes to a new user who takes a deleted user's name. */
  granteeSince?: string;
}

export const grantsPrefix = (owner: string) => `users/${owner}/grants/`;
const grantKey = (owner: string, grantee: string) => `${grantsPrefix(owner)}${grantee}.json`;

export class GrantStore {
  constructor(private readonly store: ObjectStore) {}

  async read(owner: string, grantee: string): Promise<{ doc: GrantDocument; etag: string } | undefined> {
    const object = await this.store.get(grantKey(owner, grantee));
    if (object === undefined) return undefined;
    return { doc: JSON.parse(object.body.toString('utf8')) as GrantDocument, etag: object.etag };
  }

  /** Writes only if the document is still at `etag` (absent: still missing). */
  async write(doc: GrantDocument, etag: string | undefined): Promise<void> {
    const condition = etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag };
    await this.store.put(grantKey(doc.owner, doc.grantee), Buffer.from(JSON.stringify(doc)), {
      ...condition,
      contentType: 'application/json',
    });
  }

  async remove(owner: string, grantee: string): Promise<boolean> {
    return this.store.delete(grantKey(owner, grantee));
  }

  async grantees(owner: string): Promise<string[]> {
    const names: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.store.list(grantsPrefix(owner), {
        limit: 1000,
        ...(startAfter ? { startAfter } : {}),
      });
      for (const item of page.items) names.push(item.key.slice(grantsPrefix(owner).length, -'.json'.length));
      startAfter = page.next;
    } while (startAfter !== undefined);
    return names;
  }
}
