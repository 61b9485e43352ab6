/**
 * ETags cross the storage interface bare: `abc123`, never `"abc123"`. HTTP quotes them and S3 servers
 * send them quoted, so whatever reaches a store is stripped of one pair of surrounding quotes.
 */

/** `"abc"` -> `abc`; a bare tag is returned unchanged. */
export function bareEtag(tag: string): string {
  return tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"') ? tag.slice(1, -1) : tag;
}
