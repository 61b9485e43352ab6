/**
 * How a pod file is stored. Its bytes are an immutable blob under a fresh random key; its metadata is a
 * small JSON document at the file's own key, and that document is what makes the file visible. So a
 * write is all or nothing (the document is written with one atomic, conditional put after the blob is
 * complete), metadata patches never copy bytes, and conditional requests compare small documents.
 *
 *   users/<owner>/files/<path>   the FileRecord (JSON)
 *   users/<owner>/blobs/<uuid>   the bytes
 */
import { randomUUID } from 'node:crypto';

export interface FileRecord {
  path: string;
  size: number;
  contentType: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** The HTTP entity tag (bare): changes with every write of the bytes or the metadata. */
  etag: string;
  /** Who wrote the bytes (the authenticated principal; null while requests are anonymous). */
  author: string | null;
  createdAt: string;
  updatedAt: string;
  /**
   * Whether Last-Modified (updatedAt at whole seconds) is a strong validator: no earlier version had
   * the same second. Absent in records of earlier versions: taken as weak.
   */
  lastModifiedStrong?: boolean;
  tags: string[];
  description: string;
  /** Increases on every write. */
  revision: number;
  blob: string;
  /**
   * Set by the one DELETE that claimed this version (a conditional put), just before it removes the
   * record: the claim makes "who gives the space back" exactly one request, as the store has no
   * conditional delete. Writers wait while it is fresh (see deleteClaimLive).
   */
  deleting?: { id: string; since: string };
}

/** What a caller sees of a record: everything but the storage details. */
export type FileInfo = Omit<FileRecord, 'blob' | 'deleting' | 'lastModifiedStrong'>;

export const filesPrefix = (owner: string) => `users/${owner}/files/`;
export const fileKey = (owner: string, path: string) => `${filesPrefix(owner)}${path}`;
export const newBlobKey = (owner: string) => `users/${owner}/blobs/${randomUUID()}`;
export const etagFor = (sha256: string, revision: number) => `${sha256.slice(0, 32)}.${revision}`;

export function parseRecord(body: Buffer): FileRecord {
  return JSON.parse(body.toString('utf8')) as FileRecord;
}

export function serializeRecord(record: FileRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function publicInfo(record: FileRecord): FileInfo {
  const { blob: _blob, deleting: _deleting, lastModifiedStrong: _strong, ...info } = record;
  return info;
}

/** A delete's claim older than this is taken for one whose worker died: others may proceed. */
export const DELETE_CLAIM_STALE_MS = 60_000;

export function deleteClaimLive(record: FileRecord, now: Date): boolean {
  return (
    record.deleting !== undefined && now.getTime() - Date.parse(record.deleting.since) < DELETE_CLAIM_STALE_MS
  );
}
