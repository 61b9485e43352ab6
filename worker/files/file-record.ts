/**
 * How a pod file is stored. Its metadata is a small JSON document at the file's own key, and that
 * document is what makes the file visible, so a write is all or nothing (the document is written with
 * one atomic, conditional put) and conditional requests compare small documents.
 *
 * A small file (at most FILES_INLINE_MAX_BYTES) keeps its bytes inside that document, after the JSON and
 * a newline: one PUT writes it, one GET reads it. A larger file's bytes are an immutable blob under a
 * fresh random key, written before the document names it; metadata patches never copy them.
 *
 *   users/<owner>/files/<path>   the FileRecord: JSON, then for an inline file "\n" and the bytes
 *   users/<owner>/blobs/<uuid>   the bytes of a file that is not inline
 *
 * (JSON.stringify never writes a raw newline, so the first one ends the JSON. Documents written before
 * inline files existed are plain JSON with a blob, and read as they are.)
 */
import { randomUUID } from 'node:crypto';
import type { FileInfo } from '../../protocol/file-info.ts';

/** What a caller sees (protocol/file-info.ts), plus how the file is stored. */
export interface FileRecord extends FileInfo {
  /**
   * Whether Last-Modified (updatedAt at whole seconds) is a strong validator: no earlier version had
   * the same second. Absent in records of earlier versions: taken as weak.
   */
  lastModifiedStrong?: boolean;
  /** The key of the bytes, for a file that is not inline. */
  blob?: string;
  /** Marks an inline file in the JSON; its bytes follow the JSON in the same document. */
  inline?: true;
  /** An inline file's bytes (never part of the JSON itself). */
  inlineBytes?: Buffer;
  /**
   * Set by the one DELETE that claimed this version (a conditional put), just before it removes the
   * record: the claim makes "who gives the space back" exactly one request, as the store has no
   * conditional delete. Writers wait while it is fresh (see deleteClaimLive).
   */
  deleting?: { id: string; since: string };
}

export type { FileInfo } from '../../protocol/file-info.ts';

export const filesPrefix = (owner: string) => `users/${owner}/files/`;
export const fileKey = (owner: string, path: string) => `${filesPrefix(owner)}${path}`;
export const newBlobKey = (owner: string) => `users/${owner}/blobs/${randomUUID()}`;
export const etagFor = (sha256: string, revision: number) => `${sha256.slice(0, 32)}.${revision}`;

const NEWLINE = 0x0a;

export function parseRecord(body: Buffer): FileRecord {
  const end = body.indexOf(NEWLINE);
  const record = JSON.parse(body.toString('utf8', 0, end < 0 ? body.length : end)) as FileRecord;
  if (record.inline === true) record.inlineBytes = end < 0 ? Buffer.alloc(0) : body.subarray(end + 1);
  return record;
}

export function serializeRecord(record: FileRecord): Buffer {
  const { inlineBytes, inline: _inline, ...rest } = record;
  if (inlineBytes === undefined) return Buffer.from(JSON.stringify(rest));
  return Buffer.concat([
    Buffer.from(JSON.stringify({ ...rest, inline: true })),
    Buffer.from([NEWLINE]),
    inlineBytes,
  ]);
}

export function publicInfo(record: FileRecord): FileInfo {
  const {
    blob: _blob,
    deleting: _deleting,
    lastModifiedStrong: _strong,
    inline: _inline,
    inlineBytes: _bytes,
    ...info
  } = record;
  return info;
}

/** A delete's claim older than this is taken for one whose worker died: others may proceed. */
export const DELETE_CLAIM_STALE_MS = 60_000;

export function deleteClaimLive(record: FileRecord, now: Date): boolean {
  return (
    record.deleting !== undefined && now.getTime() - Date.parse(record.deleting.since) < DELETE_CLAIM_STALE_MS
  );
}
