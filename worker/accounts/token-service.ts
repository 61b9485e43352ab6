/**
 * Access tokens of users. A token is stored only as its SHA-256, twice: `tokens/<hash>.json` finds the
 * user of a presented token in one read, and `users/<name>/tokens/<id>.json` lists a user's tokens and
 * dies with the user's pod. A token also records when its user was created, so a token of a deleted
 * user never works for a new user who takes the same name.
 */
import { randomUUID } from 'node:crypto';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { hashToken, newToken, sameHash } from '../../protocol/tokens.ts';
import type { ObjectStore } from '../storage/object-store.ts';

export interface TokenInfo {
  id: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

interface TokenRecord extends TokenInfo {
  hash: string;
  username: string;
  /** createdAt of the user the token was issued to. */
  userCreatedAt: string;
}

/** lastUsedAt is written at most this often per token. */
const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_TOKENS_PER_USER = 100;

const byHash = (hash: string) => `tokens/${hash}.json`;
const byId = (username: string, id: string) => `users/${username}/tokens/${id}.json`;
const userTokens = (username: string) => `users/${username}/tokens/`;

export class TokenService {
  constructor(
    private readonly store: ObjectStore,
    /** Told of every revoked token's hash, so that caches elsewhere drop it at once. */
    private readonly onRevoked: (username: string, hash: string) => void = () => {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Issues a token; the secret is in the answer and nowhere else. */
  async issue(
    username: string,
    userCreatedAt: string,
    options: { label?: string; expiresAt?: string | null } = {},
  ): Promise<TokenInfo & { token: string }> {
    const existing = await this.store.list(userTokens(username), { limit: MAX_TOKENS_PER_USER + 1 });
    if (existing.items.length >= MAX_TOKENS_PER_USER) {
      throw new CommandError(
        ErrorCode.CONFLICT,
        `a user holds at most ${MAX_TOKENS_PER_USER} tokens; revoke one first`,
      );
    }
    const token = newToken();
    const record: TokenRecord = {
      id: randomUUID(),
      hash: hashToken(token),
      username,
      userCreatedAt,
      label: checkLabel(options.label ?? ''),
      createdAt: this.clock().toISOString(),
      expiresAt: checkExpiry(options.expiresAt ?? null, this.clock()),
      lastUsedAt: null,
    };
    const body = Buffer.from(JSON.stringify(record));
    await this.store.put(byHash(record.hash), body, { ifNoneMatch: '*', contentType: 'application/json' });
    await this.store.put(byId(username, record.id), body, {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
    return { ...info(record), token };
  }

  /**
   * The user a token hash belongs to, if the token is live: known, unexpired, and its user still the one
   * it was issued to (`currentUserCreatedAt` is undefined when no such user exists any more).
   */
  async resolve(
    hash: string,
    userCreatedAtOf: (username: string) => Promise<string | undefined>,
  ): Promise<{ username: string; tokenId: string } | undefined> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    const object = await this.store.get(byHash(hash));
    if (object === undefined) return undefined;
    const record = JSON.parse(object.body.toString('utf8')) as TokenRecord;
    if (!sameHash(record.hash, hash)) return undefined;
    const now = this.clock();
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime()) return undefined;
    if ((await userCreatedAtOf(record.username)) !== record.userCreatedAt) return undefined;
    if (
      record.lastUsedAt === null ||
      now.getTime() - Date.parse(record.lastUsedAt) > LAST_USED_RESOLUTION_MS
    ) {
      const updated = { ...record, lastUsedAt: now.toISOString() };
      // Best effort, and never allowed to resurrect a token revoked meanwhile.
      await this.store
        .put(byHash(hash), Buffer.from(JSON.stringify(updated)), {
          ifMatch: object.etag,
          contentType: 'application/json',
        })
        .catch(() => undefined);
    }
    return { username: record.username, tokenId: record.id };
  }

  /** The live tokens of the account of that name created at `userCreatedAt` (none of an earlier one). */
  async list(username: string, userCreatedAt: string): Promise<TokenInfo[]> {
    const page = await this.store.list(userTokens(username), { limit: MAX_TOKENS_PER_USER + 1 });
    const records = await Promise.all(
      page.items.map(async (item) => {
        const indexed = await this.store.get(item.key);
        if (indexed === undefined) return undefined;
        const record = JSON.parse(indexed.body.toString('utf8')) as TokenRecord;
        const live = await this.store.get(byHash(record.hash));
        return live === undefined ? undefined : (JSON.parse(live.body.toString('utf8')) as TokenRecord);
      }),
    );
    return records
      .filter((r): r is TokenRecord => r !== undefined && r.userCreatedAt === userCreatedAt)
      .map(info)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes at once: the next request with the token is refused on every api. */
  async revoke(username: string, id: string): Promise<void> {
    const indexed = await this.store.get(byId(username, id));
    if (indexed === undefined) throw new CommandError(ErrorCode.NOT_FOUND, `no token ${id}`);
    const record = JSON.parse(indexed.body.toString('utf8')) as TokenRecord;
    await this.store.delete(byHash(record.hash));
    await this.store.delete(byId(username, id));
    this.onRevoked(username, record.hash);
  }

  /** Revokes every token of a user (the user is being deleted). */
  async revokeAll(username: string): Promise<void> {
    for (;;) {
      const page = await this.store.list(userTokens(username), { limit: 1000 });
      for (const item of page.items) {
        const indexed = await this.store.get(item.key);
        if (indexed !== undefined) {
          const record = JSON.parse(indexed.body.toString('utf8')) as TokenRecord;
          await this.store.delete(byHash(record.hash));
          this.onRevoked(username, record.hash);
        }
        await this.store.delete(item.key);
      }
      if (page.next === undefined) return;
    }
  }
}

function info(record: TokenRecord): TokenInfo {
  const { id, label, createdAt, expiresAt, lastUsedAt } = record;
  return { id, label, createdAt, expiresAt, lastUsedAt };
}

function checkLabel(label: unknown): string {
  if (typeof label !== 'string' || label.length > 200) {
    throw new CommandError(ErrorCode.INVALID, 'a token label is a string of at most 200 characters');
  }
  return label;
}

function checkExpiry(expiresAt: unknown, now: Date): string | null {
  if (expiresAt === null || expiresAt === undefined) return null;
  if (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt))) {
    throw new CommandError(ErrorCode.INVALID, 'expiresAt is an ISO 8601 time');
  }
  if (Date.parse(expiresAt) <= now.getTime())
    throw new CommandError(ErrorCode.INVALID, 'expiresAt is in the past');
  return new Date(expiresAt).toISOString();
}
