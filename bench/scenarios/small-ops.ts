/**
 * Small operations at a fixed concurrency, through the full stack and directly on the store, in one run:
 * user profile GET/PUT and 4 KiB file GET/PUT. The users are signed up for the run; each request carries
 * its user's token (none on a server without accounts).
 */
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../worker/storage/object-store.ts';
import { closedLoop, type LoadResult } from '../closed-loop.ts';
import { type HttpLoadResult, httpLoad } from '../http-load.ts';
import { authHeader, inBatches, type LoadUser, runPrefix, signUpMany } from '../load/accounts.ts';

export interface SmallOpsOptions {
  apiUrl: string;
  store: ObjectStore;
  connections: number;
  seconds: number;
  users: number;
  log: (line: string) => void;
}

const FILES_PER_USER = 2;

export async function smallOps(o: SmallOpsOptions): Promise<Record<string, LoadResult | HttpLoadResult>> {
  const profile = { firstName: 'Ada', lastName: 'Lovelace', city: 'London', tags: ['bench'] };
  const profileText = JSON.stringify(profile);
  const file = randomBytes(4096);
  o.log(`signing up ${o.users} users, ${o.users * FILES_PER_USER} files of 4 KiB`);
  const users = await signUpMany(o.apiUrl, runPrefix(), o.users);
  const fileCount = o.users * FILES_PER_USER;
  const ownerOf = (i: number) => users[i % users.length] as LoadUser;
  const fileName = (i: number) => `bench/f-${Math.floor(i / users.length)}.bin`;
  await inBatches(fileCount, 16, async (i) => {
    await ownerOf(i).client.files.put(ownerOf(i).name, fileName(i), file);
  });
  const filePaths = Array.from(
    { length: fileCount },
    (_, i) => `/v1/users/${ownerOf(i).name}/files/${fileName(i)}`,
  );
  const profilePaths = users.map((u) => `/v1/users/${u.name}`);
  const headersFor = (i: number) => authHeader(ownerOf(i).token);
  const load = (method: 'GET' | 'PUT', paths: string[], body?: string | Buffer, contentType?: string) =>
    httpLoad({
      url: o.apiUrl,
      connections: o.connections,
      seconds: o.seconds,
      method,
      paths,
      headersFor,
      ...(body === undefined ? {} : { body, contentType: contentType ?? 'application/octet-stream' }),
    });
  const direct = (op: (i: number) => Promise<void>) => closedLoop(op, o.connections, o.seconds);
  const profileKey = (i: number) => `bench-direct/profile-${i % users.length}.json`;
  const blobKey = (i: number) => `bench-direct/f-${i % fileCount}.bin`;
  const doc = Buffer.from(profileText);
  await inBatches(fileCount, 16, (i) => o.store.put(blobKey(i), file).then(() => undefined));
  await inBatches(users.length, 16, (i) =>
    o.store.put(profileKey(i), doc, { contentType: 'application/json' }).then(() => undefined),
  );

  o.log('warming up');
  await httpLoad({
    url: o.apiUrl,
    connections: o.connections,
    seconds: 2,
    method: 'GET',
    paths: profilePaths,
    headersFor,
  });
  const results: Record<string, LoadResult | HttpLoadResult> = {};
  o.log('profile GET: full stack, then direct');
  results.profileGetStack = await load('GET', profilePaths);
  results.profileGetDirect = await direct(async (i) => {
    if ((await o.store.get(profileKey(i))) === undefined) throw new Error('missing');
  });
  o.log('profile PUT: full stack, then direct');
  results.profilePutStack = await load('PUT', profilePaths, profileText, 'application/json');
  results.profilePutDirect = await direct(async (i) => {
    await o.store.put(profileKey(i), doc, { contentType: 'application/json' });
  });
  o.log('4 KiB file GET: full stack, then direct');
  results.fileGetStack = await load('GET', filePaths);
  results.fileGetDirect = await direct(async (i) => {
    if ((await o.store.get(blobKey(i))) === undefined) throw new Error('missing');
  });
  o.log('4 KiB file PUT: full stack, then direct');
  results.filePutStack = await load('PUT', filePaths, file);
  results.filePutDirect = await direct(async (i) => {
    await o.store.put(blobKey(i), file);
  });
  return results;
}
