/**
 * What processing made of one version of a file, stored beside its derived data (derived-keys.ts). No
 * status for the file's current ETag means its job has not run yet: the file is `pending`.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import { derivedKey } from './derived-keys.ts';

export type ProcessingState = 'pending' | 'done' | 'failed';

export interface ProcessingStatus {
  state: Exclude<ProcessingState, 'pending'>;
  /** What the bytes turned out to be (from their first bytes, not only the declared type); absent: nothing known. */
  kind?: string;
  /** The preview sizes made (longest side in px). */
  previews: number[];
  /** Whether text was extracted for the search index. */
  text: boolean;
  /**
   * Absent when the search index holds the file as made; `without-text` when the pod's index was too
   * full for its words (it is found by name and metadata only), `none` when it holds nothing of it.
   */
  search?: SearchCoverage;
  /** Why it failed: a stable code (processing-limits.ts ProcessingRefused, or `gave_up` after retries). */
  reason?: string;
  detail?: string;
  /** The source's ETag, and when the job finished. */
  etag: string;
  at: string;
}

/** How much of a processed file the pod's search index could take (search/pod-indexer.ts, the shard bound). */
export type SearchCoverage = 'without-text' | 'none';

/** As shown in a file's metadata. */
export interface ProcessingView {
  state: ProcessingState;
  reason?: string;
  search?: SearchCoverage;
}

/** Why a worker without NATS serves no preview and no search (ErrorCode.PROCESSING_OFF). */
export const PROCESSING_OFF_DETAIL =
  'file processing (previews, search) is off on this server: its jobs travel on NATS, and NATS_URL is not set';

const STATUS = 'status.json';
export const statusKey = (owner: string, path: string, etag: string) => derivedKey(owner, path, etag, STATUS);

export async function readStatus(
  store: ObjectStore,
  owner: string,
  path: string,
  etag: string,
): Promise<ProcessingStatus | undefined> {
  const object = await store.get(statusKey(owner, path, etag));
  return object === undefined ? undefined : (JSON.parse(object.body.toString('utf8')) as ProcessingStatus);
}

export async function writeStatus(
  store: ObjectStore,
  owner: string,
  path: string,
  status: ProcessingStatus,
): Promise<void> {
  await store.put(statusKey(owner, path, status.etag), Buffer.from(JSON.stringify(status)), {
    contentType: 'application/json',
  });
}

export function viewOf(status: ProcessingStatus | undefined): ProcessingView {
  if (status === undefined) return { state: 'pending' };
  return {
    state: status.state,
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    ...(status.search === undefined ? {} : { search: status.search }),
  };
}
