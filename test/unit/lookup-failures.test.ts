/**
 * A storage failure is never taken for "no such account": a grant is not denied, and an audit entry is
 * not dropped, because a look-up failed. The services run on the real filesystem store behind a switch
 * that makes chosen keys fail as an unreachable store does (StorageUnavailableError).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessService } from '../../worker/access/access-service.ts';
import { AuditLog, type OwedEntry } from '../../worker/access/audit-log.ts';
import { GrantStore } from '../../worker/access/grant-store.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';
import { type ObjectStore, StorageUnavailableError } from '../../worker/storage/object-store.ts';
import { accountSinceOf } from '../../worker/users/account-since.ts';
import { UsersService } from '../../worker/users/users-service.ts';

/** The store, except that keys matching `failing` fail as an unreachable store does. */
function switchable(store: ObjectStore, failing: { match?: RegExp }): ObjectStore {
  const guard = (key: string) => {
    if (failing.match?.test(key)) throw new StorageUnavailableError(`store unreachable (${key})`);
  };
  return {
    kind: store.kind,
    get: async (key) => {
      guard(key);
      return store.get(key);
    },
    head: async (key) => {
      guard(key);
      return store.head(key);
    },
    put: async (key, body, options) => {
      guard(key);
      return store.put(key, body, options);
    },
    list: (prefix, options) => store.list(prefix, options),
    listChildren: (prefix, options) => store.listChildren(prefix, options),
    delete: (key) => store.delete(key),
    discard: (key) => store.discard(key),
    getStream: (key, range) => store.getStream(key, range),
    putStream: (key, source, options) => store.putStream(key, source, options),
    deletePrefix: (prefix) => store.deletePrefix(prefix),
    deleteMany: (keys) => store.deleteMany(keys),
    init: () => store.init(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

let dir: string;
let store: ObjectStore;
const failing: { match?: RegExp } = {};
let users: UsersService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-lookups-'));
  const fs = new FsObjectStore(dir);
  await fs.init();
  store = switchable(fs, failing);
  failing.match = undefined;
  users = new UsersService(store);
  await users.put('patient', { name: 'Pat' });
  await users.put('hospital', { name: 'St Mary' });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('account look-ups', () => {
  it('say "no account" only when there is none; a failing store is an error', async () => {
    const since = accountSinceOf(users);
    expect(await since('patient')).toMatch(/^\d{4}-/);
    expect(await since('nobody')).toBeUndefined();
    expect(await since('Not A Name')).toBeUndefined();
    failing.match = /users\/patient\/profile\.json$/;
    await expect(since('patient')).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it("a grantee's grant is not denied when its account cannot be looked up: the caller gets the outage", async () => {
    const since = accountSinceOf(users);
    const grants = new GrantStore(store);
    const access = new AccessService(grants, new AuditLog(store), since);
    await grants.write(
      {
        owner: 'patient',
        grantee: 'hospital',
        entries: [
          {
            scope: '/medical/',
            modes: ['read', 'append'],
            grantedBy: 'patient',
            grantedAt: new Date().toISOString(),
          },
        ],
        updatedAt: new Date().toISOString(),
        grantId: 'g1',
        granteeSince: await since('hospital'),
      },
      undefined,
    );
    const held = await access.holding('hospital', 'patient');
    expect(held).toMatchObject({ owner: false, entries: [{ scope: '/medical/' }] });
    failing.match = /users\/hospital\/profile\.json$/;
    await expect(access.holding('hospital', 'patient')).rejects.toBeInstanceOf(StorageUnavailableError);
    failing.match = undefined;
    expect(await access.holding('hospital', 'patient')).toMatchObject({ entries: [{ scope: '/medical/' }] });
  });
});

describe('audit entries whose write fails', () => {
  it('are owed, reported, and written once the store answers again, at their own time', async () => {
    const reports: [string, OwedEntry][] = [];
    const log = new AuditLog(
      store,
      { retentionDays: 365, refusedBurst: 10, refusedWindowMs: 300_000 },
      undefined,
      accountSinceOf(users),
      (event, owed) => reports.push([event, owed]),
    );
    failing.match = /users\/patient\/audit\//;
    const entry = {
      actor: 'hospital',
      action: 'files.put',
      path: 'medical/lab.txt',
      outcome: 'allowed',
      requestId: 'r1',
    };
    await log.noteOrOwe('patient', entry);
    expect(reports.map(([event]) => event)).toEqual(['retrying']);
    expect(log.owed).toBe(1);
    expect((await log.list('patient')).entries).toEqual([]);
    const failedAt = reports[0]?.[1].time.toISOString();

    failing.match = undefined;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the first retry is due after 1 s
    await log.flush();
    expect(reports.map(([event]) => event)).toEqual(['retrying', 'written']);
    expect(log.owed).toBe(0);
    expect((await log.list('patient')).entries).toEqual([{ ...entry, time: failedAt }]);
  });

  it('an account look-up that fails makes the entry owed too, not dropped', async () => {
    const reports: string[] = [];
    const log = new AuditLog(store, undefined, undefined, accountSinceOf(users), (event) =>
      reports.push(event),
    );
    failing.match = /users\/patient\/profile\.json$/;
    await log.noteOrOwe('patient', { actor: 'hospital', action: 'files.get', outcome: 'allowed' });
    expect(reports).toEqual(['retrying']);
    failing.match = undefined;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await log.flush();
    expect(reports).toEqual(['retrying', 'written']);
    expect((await log.list('patient')).entries).toHaveLength(1);
  });

  it('an owed entry whose account is gone by the retry is not written to a later account of that name', async () => {
    const reports: string[] = [];
    const since = accountSinceOf(users);
    const log = new AuditLog(store, undefined, undefined, since, (event) => reports.push(event));
    failing.match = /users\/patient\/audit\//;
    await log.noteOrOwe(
      'patient',
      { actor: 'hospital', action: 'files.get', outcome: 'allowed' },
      await since('patient'),
    );
    failing.match = undefined;
    // The account is deleted and the name taken again before the retry.
    await store.delete('users/patient/profile.json');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await users.put('patient', { name: 'Someone else' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await log.flush();
    expect(log.owed).toBe(0);
    expect((await log.list('patient')).entries).toEqual([]);
  });
});
