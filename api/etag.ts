/** Entity tags in HTTP headers: stored etags are bare; on the wire they are quoted (RFC 9110 §8.8.3). */

export const quoteEtag = (etag: string): string => `"${etag}"`;

/** The first entity tag of an If-Match / If-None-Match header, unquoted; `*` stays `*`. Weak tags are compared as strong. */
export function parseEtagHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',')[0]?.trim() ?? '';
  if (first === '*') return '*';
  const match = /^(?:W\/)?"([^"]*)"$/.exec(first);
  return match?.[1] ?? first;
}

/** True if an If-None-Match header lists `etag` (or is `*`). */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || parseEtagHeader(t) === etag;
  });
}
