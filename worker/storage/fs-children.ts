/**
 * listChildren of the filesystem store: the direct children of a prefix, read from one folder. A
 * file is an object; a folder is a deeper prefix (`<key>/`), listed only if some key lies under it,
 * since empty folders can linger (a delete racing a listing, or a crash before cleanup) and S3 never
 * shows a prefix without keys.
 */
import type { Dirent } from 'node:fs';
import { opendir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeEntryName, folderToRelativePath } from './fs-key-path.ts';
import { infoOf, isMissing, statFile } from './fs-stats.ts';
import type { ChildEntry, ChildPage } from './object-store.ts';
import { compareKeys, prefixCanMatch } from './storable-key.ts';

type Candidate = { kind: 'file' | 'folder'; name: string; text: string; order: Buffer };

export async function listFolderChildren(
  objectsDir: string,
  prefix: string,
  startAfter: string | undefined,
  limit: number,
): Promise<ChildPage> {
  if (!prefixCanMatch(prefix)) return { entries: [] };
  // "a/b/c" lists folder "a/b" for names starting with "c"; "a/b/" lists all of folder "a/b".
  const slash = prefix.lastIndexOf('/');
  const folderKey = prefix.slice(0, Math.max(slash, 0));
  const partial = prefix.slice(slash + 1);
  const folder = folderKey === '' ? objectsDir : path.join(objectsDir, folderToRelativePath(folderKey));
  const keyPrefix = folderKey === '' ? '' : `${folderKey}/`;

  let dirents: Dirent[];
  try {
    dirents = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return { entries: [] };
    throw error;
  }
  const candidates: Candidate[] = [];
  for (const dirent of dirents) {
    if (!dirent.isFile() && !dirent.isDirectory()) continue;
    const decoded = decodeEntryName(dirent.name, dirent.isDirectory());
    if (decoded === undefined || !decoded.segment.startsWith(partial)) continue;
    const text = keyPrefix + decoded.segment + (decoded.kind === 'folder' ? '/' : '');
    // Entries at or before startAfter are skipped, prefixes included: `a/` comes before `a/b`.
    if (startAfter !== undefined && compareKeys(text, startAfter) <= 0) continue;
    candidates.push({ kind: decoded.kind, name: dirent.name, text, order: Buffer.from(text) });
  }
  candidates.sort((a, b) => Buffer.compare(a.order, b.order));

  const entries: ChildEntry[] = [];
  for (const candidate of candidates) {
    const full = path.join(folder, candidate.name);
    if (candidate.kind === 'folder') {
      if (await hasAnyKey(full)) entries.push({ kind: 'prefix', prefix: candidate.text });
    } else {
      const stats = await statFile(full);
      if (stats !== undefined) entries.push({ kind: 'object', info: infoOf(candidate.text, stats) });
    }
    if (entries.length > limit) break;
  }
  if (entries.length <= limit) return { entries };
  entries.length = limit;
  return { entries, next: entryText(entries[limit - 1]) };
}

export function entryText(entry: ChildEntry | undefined): string | undefined {
  if (entry === undefined) return undefined;
  return entry.kind === 'object' ? entry.info.key : entry.prefix;
}

/** Whether some key file lies somewhere under `folder`; stops at the first one found. */
async function hasAnyKey(folder: string): Promise<boolean> {
  let dir: Awaited<ReturnType<typeof opendir>>;
  try {
    dir = await opendir(folder);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  // Leaving the loop early closes the folder.
  for await (const dirent of dir) {
    const decoded = decodeEntryName(dirent.name, dirent.isDirectory());
    if (decoded === undefined) continue;
    if (dirent.isFile() && decoded.kind === 'file') return true;
    if (dirent.isDirectory() && (await hasAnyKey(path.join(folder, dirent.name)))) return true;
  }
  return false;
}
