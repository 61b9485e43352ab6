/**
 * How object keys map to paths under the filesystem store's objects folder.
 *
 * S3 lets `a` and `a/b` both be keys; a filesystem cannot have a file and a folder of the same name.
 * So every key segment is escaped (`%` becomes `%25`) and folder names get a trailing `%`, which an
 * escaped name can never end with: key `a` is the file `a`, key `a/b` is the file `b` in folder `a%`.
 * Keys are checked with assertStorableKey first, so no segment is empty, `.` or `..` and the path
 * always stays under the objects folder.
 */
import path from 'node:path';

const FOLDER_MARK = '%';

function escapeSegment(segment: string): string {
  return segment.replaceAll('%', '%25');
}

function unescapeName(name: string): string {
  return name.replaceAll('%25', '%');
}

/** The relative path (with `/` separators) of the file that holds `key`. */
export function keyToRelativePath(key: string): string {
  const segments = key.split('/');
  const last = segments.pop() ?? '';
  return [...segments.map((s) => escapeSegment(s) + FOLDER_MARK), escapeSegment(last)].join('/');
}

/** The relative path of the folder that holds the keys starting with `prefix` + `/`. */
export function folderToRelativePath(folderKey: string): string {
  return folderKey
    .split('/')
    .map((s) => escapeSegment(s) + FOLDER_MARK)
    .join('/');
}

/** Absolute path of `key` under `objectsDir`; throws if it would escape it (it cannot for a valid key). */
export function keyToPath(objectsDir: string, key: string): string {
  const full = path.join(objectsDir, keyToRelativePath(key));
  if (!full.startsWith(objectsDir + path.sep)) throw new Error(`key ${key} maps outside the store`);
  return full;
}

export type DecodedEntry = { kind: 'file' | 'folder'; segment: string };

/** Turns a directory entry's name back into a key segment; undefined for names the store never writes. */
export function decodeEntryName(name: string, isDirectory: boolean): DecodedEntry | undefined {
  if (isDirectory) {
    if (!name.endsWith(FOLDER_MARK)) return undefined;
    return { kind: 'folder', segment: unescapeName(name.slice(0, -FOLDER_MARK.length)) };
  }
  if (name.endsWith(FOLDER_MARK)) return undefined;
  return { kind: 'file', segment: unescapeName(name) };
}
