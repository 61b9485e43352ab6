/**
 * Listings of the S3 store, with ListObjects (V1) and a marker: minio-js parses V1 answers without
 * turning keys into numbers (its V2 parser reads a key `007` as 7 and `0x1F` as 31), and a marker is
 * just the text to list after, which is what `startAfter` means here. S3 orders keys and common
 * prefixes together by their UTF-8 bytes; minio-js returns a page's keys first and its prefixes
 * after, so each page is merged back into that order.
 */
import type { Client } from 'minio';
import { bareEtag } from './etag-text.ts';
import { type ChildEntry, type ChildPage, type ListPage, StorageUnavailableError } from './object-store.ts';
import { compareKeys } from './storable-key.ts';

/** Most entries one ListObjects request returns. */
export const S3_LIST_BATCH = 1000;

type RawEntry = { text: string; entry: ChildEntry };

/** One ListObjects request: the entries after `marker`, in byte order, and whether more follow. */
async function listOnce(
  client: Client,
  bucket: string,
  prefix: string,
  marker: string,
  delimiter: '' | '/',
  maxKeys: number,
): Promise<{ raw: RawEntry[]; truncated: boolean }> {
  const page = await client.listObjectsQuery(bucket, prefix, marker, {
    Delimiter: delimiter,
    MaxKeys: maxKeys,
    IncludeVersion: false,
  });
  const raw: RawEntry[] = [];
  for (const object of page.objects) {
    if (object.name !== undefined) {
      const info = {
        key: object.name,
        etag: bareEtag(object.etag ?? ''),
        size: object.size ?? 0,
        lastModified: object.lastModified ?? new Date(0),
      };
      raw.push({ text: object.name, entry: { kind: 'object', info } });
    } else if (object.prefix !== undefined) {
      raw.push({ text: object.prefix, entry: { kind: 'prefix', prefix: object.prefix } });
    }
  }
  raw.sort((a, b) => compareKeys(a.text, b.text));
  return { raw, truncated: page.isTruncated === true };
}

/**
 * Up to `limit` entries after `startAfter` (keys, or with delimiter `/` keys and common prefixes),
 * and whether more follow. Each request lists after the last entry seen, and entries at or before
 * that marker are dropped even if the server returns them: a server may answer the marker `a/b/`
 * with the common prefix `a/b/` again, since the keys it stands for sort after the marker.
 */
async function listEntries(
  client: Client,
  bucket: string,
  prefix: string,
  delimiter: '' | '/',
  startAfter: string | undefined,
  limit: number,
): Promise<{ entries: RawEntry[]; more: boolean }> {
  const entries: RawEntry[] = [];
  let marker = startAfter ?? '';
  let truncated = true;
  while (entries.length < limit && truncated) {
    // One more when the marker is a prefix the server may repeat, so that one request usually does.
    const slack = marker.endsWith('/') ? 1 : 0;
    const maxKeys = Math.min(limit - entries.length + slack, S3_LIST_BATCH);
    const page = await listOnce(client, bucket, prefix, marker, delimiter, maxKeys);
    for (const item of page.raw) {
      if (compareKeys(item.text, marker) > 0) entries.push(item);
    }
    truncated = page.truncated;
    const last = page.raw.at(-1)?.text;
    if (truncated) {
      if (last === undefined || compareKeys(last, marker) <= 0) {
        throw new StorageUnavailableError(`S3 store: listing ${prefix} after ${marker} made no progress`);
      }
      marker = last;
    }
  }
  if (entries.length > limit) {
    entries.length = limit;
    return { entries, more: true };
  }
  return { entries, more: truncated };
}

/** Keys under `prefix` (a plain string prefix), after `startAfter`, at most `limit`. */
export async function listKeys(
  client: Client,
  bucket: string,
  prefix: string,
  startAfter: string | undefined,
  limit: number,
): Promise<ListPage> {
  const { entries, more } = await listEntries(client, bucket, prefix, '', startAfter, limit);
  const items = entries.flatMap(({ entry }) => (entry.kind === 'object' ? [entry.info] : []));
  const last = items.at(-1);
  return more && last !== undefined ? { items, next: last.key } : { items };
}

/** Direct children of `prefix`: keys and common prefixes at the next `/`, after `startAfter`. */
export async function listChildKeys(
  client: Client,
  bucket: string,
  prefix: string,
  startAfter: string | undefined,
  limit: number,
): Promise<ChildPage> {
  const { entries, more } = await listEntries(client, bucket, prefix, '/', startAfter, limit);
  const last = entries.at(-1);
  return {
    entries: entries.map(({ entry }) => entry),
    ...(more && last !== undefined ? { next: last.text } : {}),
  };
}
