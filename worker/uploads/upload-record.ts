/**
 * Where a resumable upload lives in the object store. An upload belongs to the pod it writes into and
 * to the caller that created it: its keys hold both names, so a request by anyone else looks in another
 * place and finds nothing (no id of one caller reaches another's upload, whatever it guesses).
 *
 *   users/<owner>/uploads/open/<actor>/<id>/upload.json      the record while bytes are still owed
 *   users/<owner>/uploads/open/<actor>/<id>/seg-<offset>-…  the bytes received so far, in segments
 *   users/<owner>/uploads/done/<actor>/<id>.json            the record once the file is written
 *   upload-expiries/<ms>-<id>.json                          {owner, actor, id}: what the sweeper removes when
 *
 * Everything sits under the owner's prefix, so an erased pod takes its uploads with it.
 */
import type { FileInfo } from '../../protocol/file-info.ts';
import type { ConditionalHeaders } from '../../protocol/preconditions.ts';
import type { UploadView } from '../../protocol/upload-view.ts';

export type { UploadView } from '../../protocol/upload-view.ts';

export interface Segment {
  key: string;
  /** Byte offset of the segment's first byte in the upload. */
  offset: number;
  size: number;
}

export interface UploadRecord {
  id: string;
  owner: string;
  /** The pod path the file is written to once complete. */
  path: string;
  contentType: string;
  actor: string | null;
  /** When the actor's account was created: a later account of the same name cannot continue it. */
  actorSince: string | undefined;
  length: number;
  /** Bytes recorded so far (the segments'). */
  offset: number;
  segments: Segment[];
  /** The client's Upload-Metadata, given back on HEAD. */
  metadata: Record<string, string>;
  createdAt: string;
  expiresAt: string;
  /**
   * The creating request's preconditions (If-Match / If-None-Match ...): checked at creation, before
   * each append, and by the final write itself, so a name taken meanwhile is 412 and nothing replaced.
   * Absent in records written before they were kept: no conditions.
   */
  conditions?: ConditionalHeaders;
  /** The file written, once complete. */
  file?: FileInfo;
  /** Once complete: whether the final write created the file. */
  created?: boolean;
}

export const UPLOAD_EXPIRIES_PREFIX = 'upload-expiries/';

/** The actor's part of a key: a username, or `@` for the operator (no name). */
const actorSegment = (actor: string | null) => actor ?? '@';

export const openUploadPrefix = (owner: string, actor: string | null, id: string) =>
  `users/${owner}/uploads/open/${actorSegment(actor)}/${id}/`;
export const openUploadsOf = (owner: string, actor: string | null) =>
  `users/${owner}/uploads/open/${actorSegment(actor)}/`;
export const recordKey = (owner: string, actor: string | null, id: string) =>
  `${openUploadPrefix(owner, actor, id)}upload.json`;
export const doneKey = (owner: string, actor: string | null, id: string) =>
  `users/${owner}/uploads/done/${actorSegment(actor)}/${id}.json`;
export const segmentKey = (owner: string, actor: string | null, id: string, offset: number, nonce: string) =>
  `${openUploadPrefix(owner, actor, id)}seg-${String(offset).padStart(16, '0')}-${nonce}`;
export const expiryKey = (at: number, id: string) =>
  `${UPLOAD_EXPIRIES_PREFIX}${String(at).padStart(13, '0')}-${id}.json`;

export const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function viewOf(record: UploadRecord): UploadView {
  return {
    id: record.id,
    path: record.path,
    length: record.length,
    offset: record.file === undefined ? record.offset : record.length,
    metadata: record.metadata,
    expiresAt: record.expiresAt,
    complete: record.file !== undefined,
    ...(record.file === undefined ? {} : { file: record.file }),
    ...(record.created === undefined ? {} : { created: record.created }),
  };
}

/** The segments, checked to cover bytes 0..end-1 without gap or overlap, in order. */
export function contiguous(segments: Segment[], end: number): Segment[] | undefined {
  const sorted = [...segments].sort((a, b) => a.offset - b.offset);
  let next = 0;
  for (const segment of sorted) {
    if (segment.offset !== next || segment.size <= 0) return undefined;
    next += segment.size;
  }
  return next === end ? sorted : undefined;
}
