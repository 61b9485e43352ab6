/**
 * Shared by the filesystem store's modules: errno helpers, and the ObjectInfo of a key's file (the
 * etag scheme is described in fs-store.ts).
 */
import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ObjectInfo } from './object-store.ts';

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The path (or one of its folders) does not exist, or cannot be a path at all. */
export function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}

export function etagOf(stats: BigIntStats): string {
  return `${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}`;
}

export function infoOf(key: string, stats: BigIntStats): ObjectInfo {
  return {
    key,
    etag: etagOf(stats),
    size: Number(stats.size),
    lastModified: new Date(Number(stats.mtimeMs)),
  };
}

/** Stats of the regular file at `file`; undefined if it is missing or not a file. */
export async function statFile(file: string): Promise<BigIntStats | undefined> {
  try {
    const stats = await stat(file, { bigint: true });
    return stats.isFile() ? stats : undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}
