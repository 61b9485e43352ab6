/**
 * Where the data derived from a pod file lives: next to the pod's data, under the source file's path
 * (hashed, so that any path makes a valid key) and its ETag, so that a new version never reads an old
 * version's previews or text, and removing a file's derived data is one prefix.
 *
 *   users/<owner>/derived/<pathId>/<etag>/preview-256.webp
 *   users/<owner>/derived/<pathId>/<etag>/text.txt
 *   users/<owner>/derived/<pathId>/<etag>/status.json
 *
 * Everything under users/<owner>/ goes with the account when it is erased.
 */
import { createHash } from 'node:crypto';

export const derivedRoot = (owner: string) => `users/${owner}/derived/`;

/** A fixed-length name for a pod path: 32 hex characters of its SHA-256. */
export const pathId = (path: string) => createHash('sha256').update(path).digest('hex').slice(0, 32);

/** Every version's derived data of one file. */
export const derivedPrefix = (owner: string, path: string) => `${derivedRoot(owner)}${pathId(path)}/`;

/** The derived data of one version of a file. */
export const versionPrefix = (owner: string, path: string, etag: string) =>
  `${derivedPrefix(owner, path)}${etag}/`;

export const derivedKey = (owner: string, path: string, etag: string, name: string) =>
  `${versionPrefix(owner, path, etag)}${name}`;

/** The text extracted from a version, for the search index's snippets. */
export const TEXT_NAME = 'text.txt';
