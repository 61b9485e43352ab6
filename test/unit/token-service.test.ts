/** The token service on the in-memory store: issue, resolve, expire, list, revoke, and a reused name. */
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/outcome.ts';
import { hashToken } from '../../protocol/tokens.ts';
import { TokenService } from '../../worker/accounts/token-service.ts';
import { MemoryObjectStore } from '../../worker/storage/memory-store.ts';
import { failsWith } from '../helpers/command-errors.ts';

const CREATED = '2026-01-01T00:00:00.000Z';
let store: MemoryObjectStore;
let now: Date;
let revoked: [string, string][];
let tokens: TokenService;
/** createdAt of each live account. */
let accounts: Map<string, string>;
const since = async (name: string) => accounts.get(name);

beforeEach(() => {
  store = new MemoryObjectStore();
  now = new Date('2026-01-02T00:00:00.000Z');
  revoked = [];
  accounts = new Map([['alice', CREATED]]);
  tokens = new TokenService(
    store,
    (user, hash) => revoked.push([user, hash]),
    () => now,
  );
});

describe('TokenService', () => {
  it('issues a token that resolves to its user, and stores only its hash', async () => {
    const issued = await tokens.issue('alice', CREATED, { label: 'laptop' });
    expect(issued).toMatchObject({
      label: 'laptop',
      createdAt: now.toISOString(),
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(await tokens.resolve(hashToken(issued.token), since)).toEqual({
      username: 'alice',
      tokenId: issued.id,
    });
    const stored = await store.list('');
    expect(stored.items).toHaveLength(2);
    for (const item of stored.items) {
      expect((await store.get(item.key))?.body.toString()).not.toContain(issued.token);
    }
    expect(await tokens.resolve(hashToken(`${issued.token}x`), since)).toBeUndefined();
    expect(await tokens.resolve('not-a-hash', since)).toBeUndefined();
  });

  it('records when a token was last used, at most once a minute', async () => {
    const { token, id } = await tokens.issue('alice', CREATED);
    await tokens.resolve(hashToken(token), since);
    const first = now.toISOString();
    expect((await tokens.list('alice', CREATED)).find((t) => t.id === id)?.lastUsedAt).toBe(first);
    now = new Date(now.getTime() + 30_000);
    await tokens.resolve(hashToken(token), since);
    expect((await tokens.list('alice', CREATED))[0]?.lastUsedAt).toBe(first);
    now = new Date(now.getTime() + 60_000);
    await tokens.resolve(hashToken(token), since);
    expect((await tokens.list('alice', CREATED))[0]?.lastUsedAt).toBe(now.toISOString());
  });

  it('stops resolving a token once it expires', async () => {
    const expiresAt = new Date(now.getTime() + 3_600_000).toISOString();
    const { token } = await tokens.issue('alice', CREATED, { expiresAt });
    expect(await tokens.resolve(hashToken(token), since)).toBeDefined();
    now = new Date(expiresAt);
    expect(await tokens.resolve(hashToken(token), since)).toBeUndefined();
  });

  it('never lets a token of a deleted account work for a new account of the same name', async () => {
    const { token } = await tokens.issue('alice', CREATED);
    accounts.set('alice', '2026-01-03T00:00:00.000Z');
    expect(await tokens.resolve(hashToken(token), since)).toBeUndefined();
    expect(await tokens.list('alice', '2026-01-03T00:00:00.000Z')).toEqual([]);
    accounts.delete('alice');
    expect(await tokens.resolve(hashToken(token), since)).toBeUndefined();
  });

  it('revokes one token at once and tells who caches it', async () => {
    const a = await tokens.issue('alice', CREATED, { label: 'a' });
    now = new Date(now.getTime() + 1000);
    const b = await tokens.issue('alice', CREATED, { label: 'b' });
    expect((await tokens.list('alice', CREATED)).map((t) => t.label)).toEqual(['a', 'b']);
    await tokens.revoke('alice', a.id);
    expect(revoked).toEqual([['alice', hashToken(a.token)]]);
    expect(await tokens.resolve(hashToken(a.token), since)).toBeUndefined();
    expect(await tokens.resolve(hashToken(b.token), since)).toBeDefined();
    expect((await tokens.list('alice', CREATED)).map((t) => t.label)).toEqual(['b']);
    await failsWith(tokens.revoke('alice', a.id), ErrorCode.NOT_FOUND);
    await failsWith(tokens.revoke('bob', b.id), ErrorCode.NOT_FOUND);
  });

  it('revokeAll removes every token of a user and no one else’s', async () => {
    accounts.set('bob', CREATED);
    const issued = await Promise.all([1, 2, 3].map(() => tokens.issue('alice', CREATED)));
    const bobs = await tokens.issue('bob', CREATED);
    await tokens.revokeAll('alice');
    for (const { token } of issued) expect(await tokens.resolve(hashToken(token), since)).toBeUndefined();
    expect(revoked).toHaveLength(3);
    expect(await tokens.list('alice', CREATED)).toEqual([]);
    expect(await tokens.resolve(hashToken(bobs.token), since)).toEqual({ username: 'bob', tokenId: bobs.id });
  });

  it('refuses bad labels and expiry times, and more than 100 tokens', async () => {
    await failsWith(tokens.issue('alice', CREATED, { label: 'x'.repeat(201) }), ErrorCode.INVALID);
    await failsWith(tokens.issue('alice', CREATED, { expiresAt: 'tomorrow' }), ErrorCode.INVALID);
    await failsWith(tokens.issue('alice', CREATED, { expiresAt: '2020-01-01T00:00:00Z' }), ErrorCode.INVALID);
    for (let i = 0; i < 100; i++) await tokens.issue('alice', CREATED);
    await failsWith(tokens.issue('alice', CREATED), ErrorCode.CONFLICT);
  });
});
