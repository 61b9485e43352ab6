/**
 * Small operations at a fixed concurrency, through the full stack and directly on the store, in one run:
 * user profile GET/PUT and 4 KiB file GET/PUT.
 */
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../worker/storage/object-store.ts';
import { closedLoop, type LoadResult } from '../closed-loop.ts';
import { httpLoad } from '../http-load.ts';

export interface SmallOpsOptions {
  apiUrl: string;
  store: ObjectStore;
  connections: number;
  seconds: number;
  log: (line: string) => void;
}

const USERS = 100;
const FILES = 200;

export async function smallOps(o: SmallOpsOptions): Promise<Record<string, LoadResult>> {
  const names = Array.from({ length: USERS }, (_, i) => `bench-${i}`);
  const profile = JSON.stringify({ firstName: 'Ada', lastName: 'Lovelace', city: 'London', tags: ['bench'] });
  const file = randomBytes(4096);
  for (const name of names) {
    const res = await fetch(`${o.apiUrl}/v1/users/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: profile,
    });
    if (res.status !== 201 && res.status !== 200) throw new Error(`seeding ${name}: ${res.status}`);
  }
  const filePaths = Array.from(
    { length: FILES },
    (_, i) => `/v1/users/${names[i % USERS]}/files/bench/f-${i}.bin`,
  );
  for (const path of filePaths) {
    const res = await fetch(`${o.apiUrl}${path}`, { method: 'PUT', body: file });
    if (res.status !== 201 && res.status !== 200) throw new Error(`seeding ${path}: ${res.status}`);
  }
  const profilePaths = names.map((n) => `/v1/users/${n}`);
  const load = (method: 'GET' | 'PUT', paths: string[], body?: string | Buffer, contentType?: string) =>
    httpLoad({
      url: o.apiUrl,
      connections: o.connections,
      seconds: o.seconds,
      method,
      paths,
      ...(body === undefined ? {} : { body, contentType: contentType ?? 'application/octet-stream' }),
    });
  const direct = (op: (i: number) => Promise<void>) => closedLoop(op, o.connections, o.seconds);
  const profileKey = (i: number) => `users/${names[i % USERS]}/profile.json`;
  const blobKey = (i: number) => `bench-direct/f-${i % FILES}.bin`;
  const doc = Buffer.from(profile);
  for (let i = 0; i < FILES; i++) await o.store.put(blobKey(i), file);

  o.log('warming up');
  await httpLoad({
    url: o.apiUrl,
    connections: o.connections,
    seconds: 2,
    method: 'GET',
    paths: profilePaths,
  });
  const results: Record<string, LoadResult> = {};
  o.log('profile GET: full stack, then direct');
  results.profileGetStack = await load('GET', profilePaths);
  results.profileGetDirect = await direct(async (i) => {
    if ((await o.store.get(profileKey(i))) === undefined) throw new Error('missing');
  });
  o.log('profile PUT: full stack, then direct');
  results.profilePutStack = await load('PUT', profilePaths, profile, 'application/json');
  results.profilePutDirect = await direct(async (i) => {
    await o.store.put(`bench-direct/profile-${i % USERS}.json`, doc, { contentType: 'application/json' });
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
