/**
 * The users service: a user's profile is one JSON document at `users/{username}/profile.json`, written
 * with conditional puts so that concurrent writers never lose each other's changes (optimistic
 * concurrency: read, change, write if unchanged, else retry).
 */

import { randomUUID } from 'node:crypto';
import { isValidUsername, MAX_PROFILE_BYTES, USERNAME_RULE } from '../../protocol/names.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { Placement } from '../../protocol/placement.ts';
import { parseTagList } from '../../protocol/preconditions.ts';
import { type EventPublisher, noEventPublisher } from '../events/event-publisher.ts';
import { ACCOUNT_KEY, type RecordCache } from '../files/record-cache.ts';
import { type ObjectStore, PreconditionFailedError, type StoredObject } from '../storage/object-store.ts';
import { incarnationOfDoc, type PodWriteGuard, profileObjectKey } from './incarnation.ts';
import { type Json, mergePatch } from './merge-patch.ts';

export type Profile = { [key: string]: Json };

export type AccountKind = 'person' | 'organization';

export interface UserRecord {
  username: string;
  /** The account's immutable id (incarnation.ts): a later account of the same name has another. */
  incarnation: string;
  kind: AccountKind;
  profile: Profile;
  etag: string;
  createdAt: string;
  updatedAt: string;
}

interface StoredUser {
  username: string;
  /** Absent on accounts made before incarnations: their createdAt stands for it. */
  incarnation?: string;
  kind: AccountKind;
  profile: Profile;
  createdAt: string;
  updatedAt: string;
}

export interface WriteConditions {
  /** An If-Match list (`"a", "b"`, a bare etag, or `*` for "any existing version"). */
  ifMatch?: string;
  ifNoneMatch?: '*';
}

/** Optimistic-concurrency retries before answering 409; each waits a little longer, with jitter. */
const MAX_ATTEMPTS = 16;
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
export const profileKey = profileObjectKey;
export const userPrefix = (username: string) => `users/${username}/`;

/**
 * A pod's home remembers the account document (worker/files/record-cache.ts, decision 0008), used for
 * a command the broker's placement allows while the worker's sight of the account (`guard`) is recent
 * and of the same incarnation; a read of the account renews that sight.
 */
export interface AccountMemory {
  cache: RecordCache;
  guard: PodWriteGuard;
}

export class UsersService {
  constructor(
    private readonly store: ObjectStore,
    private readonly clock: () => Date = () => new Date(),
    private readonly events: EventPublisher = noEventPublisher,
    private readonly memory?: AccountMemory,
  ) {}

  async get(username: string, placement?: Placement): Promise<UserRecord> {
    const found = await this.#read(checkUsername(username), placement);
    if (found === undefined) throw notFound(username);
    return found;
  }

  /** Creates (created: true) or replaces the profile. */
  async put(
    username: string,
    profile: unknown,
    conditions: WriteConditions = {},
    kind: AccountKind = 'person',
    placement?: Placement,
  ): Promise<{ created: boolean; user: UserRecord }> {
    checkUsername(username);
    const body = checkProfile(profile);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // The first look may come from memory: the write is conditional, and a retry looks at the store.
      const current =
        conditions.ifNoneMatch === '*'
          ? undefined
          : await this.#read(username, attempt === 0 ? placement : undefined);
      if (!matches(current, conditions.ifMatch)) throw preconditionFailed();
      const now = this.clock().toISOString();
      const doc: StoredUser = {
        username,
        incarnation: current?.incarnation ?? randomUUID(),
        kind: current?.kind ?? kind,
        profile: body,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
      try {
        const written = await this.#write(username, doc, current, placement);
        await this.events.publish({
          kind: current === undefined ? 'user.created' : 'user.updated',
          owner: username,
          etag: written,
          incarnation: doc.incarnation,
        });
        return {
          created: current === undefined,
          user: { ...doc, incarnation: doc.incarnation ?? now, etag: written },
        };
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        if (conditions.ifMatch !== undefined || conditions.ifNoneMatch === '*') throw preconditionFailed();
        await backoff(attempt);
      }
    }
    throw tooContended(username);
  }

  /** Applies a JSON merge patch (RFC 7396) to the profile. */
  async patch(username: string, patch: unknown, conditions: WriteConditions = {}): Promise<UserRecord> {
    checkUsername(username);
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw new CommandError(ErrorCode.INVALID, 'a merge patch of a profile must be a JSON object');
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#read(username);
      if (current === undefined) throw notFound(username);
      if (!matches(current, conditions.ifMatch)) throw preconditionFailed();
      const profile = checkProfile(mergePatch(current.profile, patch as Json));
      const doc: StoredUser = { ...current, profile, updatedAt: this.clock().toISOString() };
      try {
        const etag = await this.#write(username, doc, current);
        await this.events.publish({
          kind: 'user.patched',
          owner: username,
          etag,
          incarnation: current.incarnation,
        });
        return { ...doc, incarnation: current.incarnation, etag };
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        if (conditions.ifMatch !== undefined) throw preconditionFailed();
        await backoff(attempt);
      }
    }
    throw tooContended(username);
  }

  /** The user's record, or undefined: for callers that decide what a missing user means. */
  async find(username: string, placement?: Placement): Promise<UserRecord | undefined> {
    return this.#read(checkUsername(username), placement);
  }

  /**
   * The account document: from memory when the placement allows it and the worker's recent sight of
   * the account is of the same incarnation; else from the store (remembered, and renewing the sight).
   */
  async #read(username: string, placement?: Placement): Promise<UserRecord | undefined> {
    if (this.memory === undefined || placement?.exclusive !== true) return this.#readStored(username);
    const { cache, guard } = this.memory;
    const read = async () => {
      const since = guard.clock();
      const found = await this.#readStored(username);
      guard.saw(username, found === undefined ? undefined : incarnationOfDoc(found), since);
      return found;
    };
    return cache.readThrough(
      username,
      ACCOUNT_KEY,
      placement,
      guard.recent(username)?.incarnation.id,
      read,
      (found) => ({ incarnation: found.incarnation, size: accountBytes(found) }),
    );
  }

  async #readStored(username: string): Promise<UserRecord | undefined> {
    const object = await this.store.get(profileKey(username));
    return object === undefined ? undefined : parseStoredUser(object);
  }

  /**
   * Writes `doc` only if the stored version is still `current` (or still absent). Returns the new etag.
   * What this worker remembers of the account is forgotten before and after; under a placement that
   * allows memory, the written version is remembered.
   */
  async #write(
    username: string,
    doc: StoredUser,
    current: UserRecord | undefined,
    placement?: Placement,
  ): Promise<string> {
    const body = Buffer.from(JSON.stringify(doc));
    const condition = current === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: current.etag };
    const cache = this.memory?.cache;
    const put = () =>
      this.store.put(profileKey(username), body, { ...condition, contentType: 'application/json' });
    const { etag } = cache === undefined ? await put() : await cache.writing(username, ACCOUNT_KEY, put);
    if (cache !== undefined && placement?.exclusive === true) {
      const written = parseStoredUser({ body, etag } as StoredObject);
      cache.fill(cache.ticket(username, placement), ACCOUNT_KEY, written, written.incarnation, body.length);
    }
    return etag;
  }
}

/**
 * If-Match semantics (RFC 9110 §13.1.1): absent matches anything; `*` matches any existing version;
 * else one tag of the list must match the etag strongly.
 */
export function matches(current: { etag: string } | undefined, ifMatch: string | undefined): boolean {
  if (ifMatch === undefined) return true;
  const list = parseTagList(ifMatch);
  if (current === undefined || list === undefined) return false;
  return list === '*' || list.some((tag) => !tag.weak && tag.opaque === current.etag);
}

/** What a remembered account costs beyond the cache's allowance: about its JSON. */
const accountBytes = (user: UserRecord) => 2 * JSON.stringify(user.profile).length + 256;

function parseStoredUser(object: StoredObject): UserRecord {
  const doc = JSON.parse(object.body.toString('utf8')) as StoredUser;
  return { ...doc, incarnation: incarnationOfDoc(doc).id, kind: doc.kind ?? 'person', etag: object.etag };
}

function checkUsername(username: string): string {
  if (!isValidUsername(username)) throw new CommandError(ErrorCode.INVALID, USERNAME_RULE);
  return username;
}

function checkProfile(profile: unknown): Profile {
  if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) {
    throw new CommandError(ErrorCode.INVALID, 'a profile must be a JSON object');
  }
  if (Buffer.byteLength(JSON.stringify(profile)) > MAX_PROFILE_BYTES) {
    throw new CommandError(ErrorCode.INVALID, `a profile is at most ${MAX_PROFILE_BYTES} bytes of JSON`);
  }
  return profile as Profile;
}

const notFound = (username: string) => new CommandError(ErrorCode.NOT_FOUND, `no user named ${username}`);
const preconditionFailed = () =>
  new CommandError(
    ErrorCode.PRECONDITION_FAILED,
    'the profile does not match the If-Match / If-None-Match condition',
  );
const tooContended = (username: string) =>
  new CommandError(ErrorCode.CONFLICT, `too many concurrent changes to ${username}; try again`);
