/**
 * Headers that mean one value. Sent twice, Node joins most of them into one comma list (so two
 * Idempotency-Keys became one key) and keeps only the first of others (so of two Authorization headers
 * the api saw one, a proxy in front perhaps the other). Either way the request is ambiguous: it is
 * refused (400) before anything acts on it. List headers (If-Match, If-None-Match, Accept...) may repeat.
 */
export const SINGLETON_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'content-length',
  'content-type',
  'host',
  'idempotency-key',
  'if-modified-since',
  'if-range',
  'if-unmodified-since',
  'last-event-id',
  'range',
  'slug',
  'x-request-id',
]);

/** The first singleton header the raw name/value list carries more than once, else undefined. */
export function repeatedSingletonHeader(rawHeaders: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    if (!SINGLETON_HEADERS.has(name)) continue;
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}
