/**
 * Small operations at a fixed concurrency, through the full stack and directly on the store, in one run:
 * user profile GET/PUT, 4 KiB file GET/PUT (a PUT replaces a file) and 4 KiB file creates (new names in one
 * folder of one pod). The users are signed up for the run; each request carries
 * its user's token (none on a server without accounts).
 *
 * And the hot small-file GET: the same 200 files of 4 KiB in one pod read again and again, in closed
 * loops at the same concurrency, through the stack and directly on the store in alternating slices (so
 * both see the same moments of the machine), for the issue-14 goal of serving hot files faster than
 * the store does.
 *
 * Every measured run starts once the stack is quiet again (`settle`): a write's processing job and the
 * removal of its old version run after its answer, and would otherwise be charged to the runs after it.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { ObjectStore } from '../../worker/storage/object-store.ts';
import { alternatingLoops, closedLoop, type LoadResult } from '../closed-loop.ts';
import { type HttpLoadResult, httpLoad } from '../http-load.ts';
import { authHeader, inBatches, type LoadUser, runPrefix, signUp, signUpMany } from '../load/accounts.ts';
import { HOT_FILES } from '../results-types.ts';

export interface SmallOpsOptions {
  apiUrl: string;
  store: ObjectStore;
  connections: number;
  seconds: number;
  users: number;
  log: (line: string) => void;
  /**
   * Resolves once the stack has finished the background work of what ran before (processing jobs of the
   * writes, events): called before every measured run, so that no run is charged with the one before it.
   */
  settle?: () => Promise<void>;
}

const FILES_PER_USER = 2;
/** Distinct new names the create row goes through: more than it can create in a run, so each PUT creates. */
const CREATE_NAMES = 50_000;

/** GET of `path` on a keep-alive agent, the body read to its end; rejects on anything but 200. */
function httpGet(agent: Agent, url: URL, path: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, hostname: url.hostname, port: url.port, path, method: 'GET', headers },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The hot row: `HOT_FILES` files of one pod read again and again, through the stack and directly. */
async function hotGets(o: SmallOpsOptions, file: Buffer): Promise<Record<string, LoadResult>> {
  const owner = await signUp(o.apiUrl, `${runPrefix()}-hot`, { firstName: 'Hot', lastName: 'Files' });
  // At the pod's root: creations in one folder take turns on its lock (worker/files/name-lock.ts).
  const name = (i: number) => `h-${i % HOT_FILES}.bin`;
  const key = (i: number) => `bench-direct/hot-${i % HOT_FILES}.bin`;
  await inBatches(HOT_FILES, 16, async (i) => {
    await owner.client.files.put(owner.name, name(i), file);
    await o.store.put(key(i), file);
  });
  const url = new URL(o.apiUrl);
  const headers = authHeader(owner.token);
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  try {
    const ops = {
      hotGetStack: (i: number) => httpGet(agent, url, `/v1/users/${owner.name}/files/${name(i)}`, headers),
      hotGetDirect: async (i: number) => {
        if ((await o.store.get(key(i))) === undefined) throw new Error('missing');
      },
    };
    o.log(`hot 4 KiB file GET: ${HOT_FILES} files of one pod, stack and direct in alternating slices`);
    await o.settle?.();
    await alternatingLoops(ops, o.connections, Math.min(4, o.seconds), 2);
    return await alternatingLoops(ops, o.connections, o.seconds, Math.max(1, Math.round(o.seconds / 2)));
  } finally {
    agent.destroy();
  }
}

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
  const settled = async <T>(run: () => Promise<T>): Promise<T> => {
    await o.settle?.();
    return run();
  };
  const load = (method: 'GET' | 'PUT', paths: string[], body?: string | Buffer, contentType?: string) =>
    settled(() =>
      httpLoad({
        url: o.apiUrl,
        connections: o.connections,
        seconds: o.seconds,
        method,
        paths,
        headersFor,
        ...(body === undefined ? {} : { body, contentType: contentType ?? 'application/octet-stream' }),
      }),
    );
  const direct = (op: (i: number) => Promise<void>) =>
    settled(() => closedLoop(op, o.connections, o.seconds));
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
  // Creations of new names, all in one folder of one pod: the file/folder rule's lock is per first
  // segment, so this is the row that shows how creations in one folder share it.
  o.log('4 KiB file create (new names in one folder of one pod): full stack, then direct');
  const creator = users[0] as LoadUser;
  const createPaths = Array.from(
    { length: CREATE_NAMES },
    (_, i) => `/v1/users/${creator.name}/files/inbox/c-${i}.bin`,
  );
  results.fileCreateStack = await settled(() =>
    httpLoad({
      url: o.apiUrl,
      connections: o.connections,
      seconds: o.seconds,
      method: 'PUT',
      paths: createPaths,
      headersFor: () => authHeader(creator.token),
      body: file,
      contentType: 'application/octet-stream',
    }),
  );
  let created = 0;
  results.fileCreateDirect = await direct(async () => {
    await o.store.put(`bench-direct/inbox/c-${created++}.bin`, file);
  });
  Object.assign(results, await hotGets(o, file));
  return results;
}
