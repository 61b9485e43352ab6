/**
 * Per-key exclusive locks shared by every process that uses the same filesystem store.
 *
 * A lock is a file in the locks folder, named by a hash of the key and created with `open(..., 'wx')`,
 * which fails if the file exists: whoever creates it holds the lock, and releases it by deleting it.
 * Holders keep a lock only for a stat and a rename, so a lock file older than `staleMs` belongs to a
 * process that died while holding it; it is broken (renamed away, then deleted) and the wait goes on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageUnavailableError } from './object-store.ts';

export interface FileLockOptions {
  /** A lock file older than this is considered abandoned. Default 5 s. */
  staleMs?: number;
  /** Give up (StorageUnavailableError) after waiting this long for a live lock. Default 15 s. */
  acquireTimeoutMs?: number;
}

export interface HeldLock {
  release(): Promise<void>;
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export class FileLocks {
  readonly #dir: string;
  readonly #staleMs: number;
  readonly #acquireTimeoutMs: number;

  constructor(dir: string, options: FileLockOptions = {}) {
    this.#dir = dir;
    this.#staleMs = options.staleMs ?? 5_000;
    this.#acquireTimeoutMs = options.acquireTimeoutMs ?? 15_000;
  }

  /** The lock file used for `key` (exposed for tests that simulate a crashed holder). */
  lockPath(key: string): string {
    return path.join(this.#dir, `${createHash('sha256').update(key).digest('hex')}.lock`);
  }

  async acquire(key: string): Promise<HeldLock> {
    const file = this.lockPath(key);
    const deadline = Date.now() + this.#acquireTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const held = await this.#tryCreate(file);
      if (held) return held;
      const current = await stat(file, { bigint: true }).catch(() => undefined);
      if (current === undefined) continue; // released in the meantime: try again at once
      if (Date.now() - Number(current.mtimeMs) > this.#staleMs) {
        await this.#breakStale(file, current.ino);
        continue;
      }
      if (Date.now() > deadline) {
        throw new StorageUnavailableError(`timed out waiting for the lock on ${key}`);
      }
      await sleep(1 + Math.random() * Math.min(50, 2 ** attempt));
    }
  }

  /** Creates the lock file; undefined if someone else holds it. */
  async #tryCreate(file: string): Promise<HeldLock | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, 'wx');
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') return undefined;
      if (errnoCode(error) !== 'ENOENT') throw error;
      await mkdir(this.#dir, { recursive: true });
      return this.#tryCreate(file);
    }
    let ino: bigint;
    try {
      ino = (await handle.stat({ bigint: true })).ino;
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
    return {
      release: async () => {
        // Delete only our own lock file: if ours was broken as stale, the file may now be another's.
        const now = await stat(file, { bigint: true }).catch(() => undefined);
        if (now?.ino === ino) await unlink(file).catch(() => undefined);
      },
    };
  }

  /**
   * Removes an abandoned lock file. It is first renamed to a unique name, so that of several processes
   * breaking the same lock only one succeeds. If the file renamed turns out to be a new holder's lock
   * (taken between our stat and our rename), it is linked back into place; should a third process
   * have taken the lock in that instant, two holders overlap: that needs a crashed holder and three
   * processes racing within microseconds. `ifNoneMatch` writes stay safe even then (link(2) decides).
   */
  async #breakStale(file: string, staleIno: bigint): Promise<void> {
    const grave = `${file}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(file, grave);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      throw error;
    }
    const moved = await stat(grave, { bigint: true }).catch(() => undefined);
    if (moved !== undefined && moved.ino !== staleIno) {
      await link(grave, file).catch(() => undefined);
    }
    await unlink(grave).catch(() => undefined);
  }
}
