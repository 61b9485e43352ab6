/**
 * ObjectStore on a local folder: the embedded default (`./data`) when no S3 endpoint is configured.
 * Several worker processes may share the folder; every guarantee below holds across processes.
 *
 * Layout under the root folder:
 *   objects/  one file per key (see fs-key-path.ts for the naming)
 *   .tmp/     bodies being written; never listed
 *   .locks/   per-key lock files (see fs-lock.ts)
 *
 * Writes are atomic: the body is written (and fsynced) to a file in .tmp, then moved into place with
 * rename(2), or with link(2) for `ifNoneMatch: '*'`, which fails if the key exists, so two creators
 * can never both win. Every write and delete of a key holds that key's lock, and `ifMatch` compares
 * the current etag under it, so a conditional write cannot interleave with another write.
 *
 * ETag: the inode number, size and modification time in nanoseconds of the key's file, in hex. Each
 * write makes a new file while the old one still exists, so the new inode differs from the old one
 * and the tag changes on every write. (An inode number freed by an overwrite can be reused by a later
 * write; the tag then still differs unless that write also has the same size and the same timestamp,
 * which needs both writes within one tick of the kernel's file clock, a few milliseconds at most.)
 *
 * putStream writes the source chunk by chunk into its temp file (one chunk in memory at a time) and
 * then moves it into place like put. getStream reads from one open file, so the body and the info
 * it returns belong to the same version even if the key is overwritten meanwhile.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import {
  access,
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { assertByteRange, guardedBody } from './body-stream.ts';
import { bareEtag } from './etag-text.ts';
import { listFolderChildren } from './fs-children.ts';
import { decodeEntryName, folderToRelativePath, keyToPath } from './fs-key-path.ts';
import { type FileLockOptions, FileLocks } from './fs-lock.ts';
import { errnoCode, etagOf, infoOf, isMissing, statFile } from './fs-stats.ts';
import {
  type ByteRange,
  type ChildPage,
  InvalidKeyError,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  type PutOptions,
  StorageUnavailableError,
  type StoredObject,
} from './object-store.ts';
import { sourceChunks, unwrapSourceError } from './source-chunks.ts';
import { assertStorableKey, compareKeys, prefixCanMatch } from './storable-key.ts';

export interface FsObjectStoreOptions extends FileLockOptions {
  /** fsync bodies and folders so that an acknowledged write survives a power cut. Default true. */
  durable?: boolean;
}

const DEFAULT_LIST_LIMIT = 1000;
const DELETE_CONCURRENCY = 16;
/** Temp files older than this are leftovers of a crashed writer; init() removes them. */
const TEMP_MAX_AGE_MS = 60 * 60 * 1000;

/** Filesystem failures become StorageUnavailableError; a name too long for the filesystem is a bad key. */
async function guarded<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (
      error instanceof PreconditionFailedError ||
      error instanceof InvalidKeyError ||
      error instanceof StorageUnavailableError
    ) {
      throw error;
    }
    const code = errnoCode(error);
    if (code === 'ENAMETOOLONG')
      throw new InvalidKeyError('key too long for the filesystem', { cause: error });
    if (code !== undefined) {
      throw new StorageUnavailableError(`filesystem store: ${operation} failed: ${code}`, { cause: error });
    }
    throw error;
  }
}

type Child = { kind: 'file' | 'folder'; name: string; key: string; order: Buffer };

export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs' as const;
  readonly root: string;
  readonly #objects: string;
  readonly #temp: string;
  readonly #locks: FileLocks;
  readonly #durable: boolean;

  constructor(root: string, options: FsObjectStoreOptions = {}) {
    this.root = path.resolve(root);
    this.#objects = path.join(this.root, 'objects');
    this.#temp = path.join(this.root, '.tmp');
    this.#locks = new FileLocks(path.join(this.root, '.locks'), options);
    this.#durable = options.durable ?? true;
  }

  /** The lock file of `key` (for tests that simulate a writer that crashed while holding it). */
  lockPath(key: string): string {
    return this.#locks.lockPath(key);
  }

  async init(): Promise<void> {
    await guarded('init', async () => {
      await mkdir(this.#objects, { recursive: true });
      await mkdir(this.#temp, { recursive: true });
      await mkdir(path.dirname(this.lockPath('x')), { recursive: true });
      await this.#sweepTemp();
    });
  }

  async ping(): Promise<void> {
    try {
      await access(this.#objects, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new StorageUnavailableError(`filesystem store at ${this.root} is not accessible`, {
        cause: error,
      });
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const file = this.#pathOf(key);
    return guarded('get', async () => {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(file, 'r');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      try {
        // Stat and read the same open file: a concurrent write renames a new file into place and
        // leaves this one intact, so body and etag always belong together.
        const stats = await handle.stat({ bigint: true });
        if (!stats.isFile()) return undefined;
        return { ...infoOf(key, stats), body: await handle.readFile() };
      } finally {
        await handle.close();
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.#pathOf(key);
    return guarded('head', async () => {
      const stats = await statFile(file);
      return stats && infoOf(key, stats);
    });
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<{ etag: string }> {
    const file = this.#pathOf(key);
    return guarded('put', async () => {
      const temp = await this.#writeTemp(body);
      try {
        const lock = await this.#locks.acquire(key);
        try {
          if (options.ifNoneMatch === '*') {
            if (options.ifMatch !== undefined)
              throw new PreconditionFailedError(`${key}: If-Match with If-None-Match: *`);
            await this.#moveIntoPlace(file, async () => {
              try {
                await link(temp.path, file);
              } catch (error) {
                if (errnoCode(error) === 'EEXIST') throw new PreconditionFailedError(`${key} already exists`);
                throw error;
              }
            });
          } else {
            if (options.ifMatch !== undefined) {
              const current = await statFile(file);
              if (current === undefined || etagOf(current) !== bareEtag(options.ifMatch)) {
                throw new PreconditionFailedError(`${key} does not have etag ${options.ifMatch}`);
              }
            }
            await this.#moveIntoPlace(file, () => rename(temp.path, file));
          }
        } finally {
          await lock.release();
        }
        await this.#syncFolder(path.dirname(file));
        return { etag: temp.etag };
      } finally {
        await rm(temp.path, { force: true });
      }
    });
  }

  async delete(key: string): Promise<boolean> {
    const file = this.#pathOf(key);
    return guarded('delete', async () => {
      let existed = true;
      const lock = await this.#locks.acquire(key);
      try {
        await unlink(file);
      } catch (error) {
        if (!isMissing(error)) throw error;
        existed = false;
      } finally {
        await lock.release();
      }
      if (existed) {
        await this.#syncFolder(path.dirname(file));
        await this.#removeEmptyFolders(path.dirname(file));
      }
      return existed;
    });
  }

  async discard(key: string): Promise<void> {
    await this.delete(key);
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_LIST_LIMIT));
    const startAfter = options.startAfter || undefined;
    // "a/b/c" lists folder "a/b" for names starting with "c"; "a/b/" lists all of folder "a/b".
    const slash = prefix.lastIndexOf('/');
    const folderKey = prefix.slice(0, Math.max(slash, 0));
    const partial = prefix.slice(slash + 1);
    if (!prefixCanMatch(prefix)) return { items: [] };
    const folder =
      folderKey === '' ? this.#objects : path.join(this.#objects, folderToRelativePath(folderKey));
    const keyPrefix = folderKey === '' ? '' : `${folderKey}/`;

    return guarded('list', async () => {
      const items: ObjectInfo[] = [];
      for await (const info of this.#walk(folder, keyPrefix, partial, startAfter)) {
        items.push(info);
        if (items.length > limit) break;
      }
      if (items.length <= limit) return { items };
      items.length = limit;
      return { items, next: items[limit - 1]?.key };
    });
  }

  async putStream(
    key: string,
    source: AsyncIterable<Buffer>,
    _options: { contentType?: string } = {},
  ): Promise<{ etag: string; size: number }> {
    const file = this.#pathOf(key);
    return unwrapSourceError(() =>
      guarded('putStream', async () => {
        const temp = await this.#fillTemp(async (handle) => {
          // One chunk at a time, each written fully before the next is read: backpressure on the source.
          for await (const chunk of sourceChunks(source)) await writeFully(handle, chunk);
        });
        try {
          const lock = await this.#locks.acquire(key);
          try {
            await this.#moveIntoPlace(file, () => rename(temp.path, file));
          } finally {
            await lock.release();
          }
          await this.#syncFolder(path.dirname(file));
          return { etag: temp.etag, size: temp.size };
        } finally {
          await rm(temp.path, { force: true });
        }
      }),
    );
  }

  async getStream(key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const file = this.#pathOf(key);
    if (range !== undefined) assertByteRange(range);
    return guarded('getStream', async () => {
      let handle: FileHandle;
      try {
        handle = await open(file, 'r');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      let stats: BigIntStats;
      try {
        // Info and body from the same open file: an overwrite renames a new file into place.
        stats = await handle.stat({ bigint: true });
      } catch (error) {
        await handle.close();
        throw error;
      }
      if (!stats.isFile()) {
        await handle.close();
        return undefined;
      }
      // The stream closes the handle when it ends, fails or is destroyed.
      const raw = handle.createReadStream(range === undefined ? {} : { start: range.start, end: range.end });
      const body = guardedBody(raw, (error) => readFailure(key, error));
      return { info: infoOf(key, stats), body };
    });
  }

  async listChildren(
    prefix: string,
    options: { startAfter?: string; limit?: number } = {},
  ): Promise<ChildPage> {
    const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_LIST_LIMIT));
    return guarded('listChildren', () =>
      listFolderChildren(this.#objects, prefix, options.startAfter || undefined, limit),
    );
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((key) => this.delete(key)));
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.list(prefix, { startAfter, limit: DEFAULT_LIST_LIMIT });
      for (let i = 0; i < page.items.length; i += DELETE_CONCURRENCY) {
        const batch = page.items.slice(i, i + DELETE_CONCURRENCY);
        const results = await Promise.all(batch.map((item) => this.delete(item.key)));
        deleted += results.filter(Boolean).length;
      }
      if (page.next === undefined) return deleted;
      startAfter = page.next;
    }
  }

  async close(): Promise<void> {}

  #pathOf(key: string): string {
    assertStorableKey(key);
    return keyToPath(this.#objects, key);
  }

  /** Writes `body` to a new file in .tmp; returns its path and the etag it will have once in place. */
  async #writeTemp(body: Buffer): Promise<{ path: string; etag: string; size: number }> {
    return this.#fillTemp((handle) => handle.writeFile(body));
  }

  /**
   * Creates a file in .tmp, lets `fill` write it, syncs it; returns its path and the etag and size it
   * will have once in place. The file is removed if anything fails.
   */
  async #fillTemp(
    fill: (handle: FileHandle) => Promise<void>,
  ): Promise<{ path: string; etag: string; size: number }> {
    const tempPath = path.join(this.#temp, `${process.pid}-${randomBytes(8).toString('hex')}`);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      await mkdir(this.#temp, { recursive: true });
      handle = await open(tempPath, 'wx');
    }
    try {
      await fill(handle);
      if (this.#durable) await handle.sync();
      // rename and link keep the inode, size and mtime, so this is the etag of the stored object.
      const stats = await handle.stat({ bigint: true });
      return { path: tempPath, etag: etagOf(stats), size: Number(stats.size) };
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    } finally {
      await handle.close();
    }
  }

  /**
   * Runs `move` after creating the target's folders; retries if a delete removed them meanwhile (a
   * delete of the folder's last key removes the folder, and may do so while mkdir is creating it).
   */
  async #moveIntoPlace(file: string, move: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(file), { recursive: true });
        return await move();
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT' || attempt >= 20) throw error;
      }
    }
  }

  async #syncFolder(folder: string): Promise<void> {
    if (!this.#durable) return;
    const handle = await open(folder, 'r').catch(() => undefined);
    if (handle === undefined) return;
    try {
      await handle.sync();
    } catch {
      // Some filesystems refuse fsync on a folder; the rename is atomic either way.
    } finally {
      await handle.close();
    }
  }

  async #removeEmptyFolders(folder: string): Promise<void> {
    let current = folder;
    while (current.startsWith(this.#objects + path.sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      current = path.dirname(current);
    }
  }

  /** Keys under `folder` whose name starts with `partial`, after `startAfter`, in UTF-8 byte order. */
  async *#walk(
    folder: string,
    keyPrefix: string,
    partial: string,
    startAfter: string | undefined,
  ): AsyncGenerator<ObjectInfo> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const children: Child[] = [];
    for (const entry of entries) {
      if (!entry.isFile() && !entry.isDirectory()) continue;
      const decoded = decodeEntryName(entry.name, entry.isDirectory());
      if (decoded === undefined || !decoded.segment.startsWith(partial)) continue;
      // A folder sorts as "name/": every key inside it sorts right after that and before anything
      // else, so visiting children in this order yields keys in order.
      const key = keyPrefix + decoded.segment + (decoded.kind === 'folder' ? '/' : '');
      children.push({ kind: decoded.kind, name: entry.name, key, order: Buffer.from(key) });
    }
    children.sort((a, b) => Buffer.compare(a.order, b.order));

    for (const child of children) {
      const childPath = path.join(folder, child.name);
      if (child.kind === 'folder') {
        // Skip a whole folder when all its keys sort before startAfter.
        if (
          startAfter !== undefined &&
          !startAfter.startsWith(child.key) &&
          compareKeys(child.key, startAfter) < 0
        ) {
          continue;
        }
        yield* this.#walk(childPath, child.key, '', startAfter);
      } else {
        if (startAfter !== undefined && compareKeys(child.key, startAfter) <= 0) continue;
        const stats = await statFile(childPath);
        if (stats !== undefined) yield infoOf(child.key, stats);
      }
    }
  }

  async #sweepTemp(): Promise<void> {
    const names = await readdir(this.#temp).catch(() => [] as string[]);
    const cutoff = Date.now() - TEMP_MAX_AGE_MS;
    for (const name of names) {
      const file = path.join(this.#temp, name);
      const stats = await stat(file).catch(() => undefined);
      if (stats !== undefined && stats.mtimeMs < cutoff) await rm(file, { force: true });
    }
  }
}

/** Writes all of `chunk` at the file's current position (a write may take only part of it). */
async function writeFully(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset, null);
    offset += bytesWritten;
  }
}

function readFailure(key: string, error: unknown): Error {
  const code = errnoCode(error) ?? (error instanceof Error ? error.message : String(error));
  return new StorageUnavailableError(`filesystem store: reading ${key} failed: ${code}`, { cause: error });
}
