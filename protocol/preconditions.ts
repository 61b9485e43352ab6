/**
 * Conditional requests (RFC 9110 §13), as pure functions that api and worker share: the api checks the
 * headers' syntax (400 for a malformed entity-tag list) and passes their text on; the worker evaluates
 * them against the stored file, at the moment it acts on it.
 *
 *   If-Match             "*" or a list of entity tags; true when one matches the current ETag STRONGLY
 *   If-None-Match        "*" or a list; false when one matches WEAKLY (GET/HEAD: 304, others: 412)
 *   If-Unmodified-Since  HTTP-date; false when the file changed after it (ignored with If-Match)
 *   If-Modified-Since    HTTP-date; GET/HEAD only, false when the file did not change after it (304;
 *                        ignored with If-None-Match)
 *   If-Range             entity tag (strong match) or HTTP-date (exact match with a strong
 *                        Last-Modified); when false, a Range is ignored and the whole file is sent
 *
 * The order is that of §13.2.2. Preconditions only apply to a target whose answer without them would
 * be a success: a missing file is 404 whatever the conditions, except for PUT, which would create it
 * (then If-Match fails, If-None-Match holds, and the date conditions are ignored).
 */

/** The raw text of the conditional headers a request carries (each absent when not sent). */
export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
  ifRange?: string;
}

export const CONDITIONAL_HEADER_NAMES = {
  ifMatch: 'if-match',
  ifNoneMatch: 'if-none-match',
  ifModifiedSince: 'if-modified-since',
  ifUnmodifiedSince: 'if-unmodified-since',
  ifRange: 'if-range',
} as const satisfies Record<keyof ConditionalHeaders, string>;

export interface EntityTag {
  weak: boolean;
  /** The opaque tag without quotes. */
  opaque: string;
}

/** What the conditions are compared with: the current file's validators. */
export interface Validators {
  /** The bare ETag (no quotes; always a strong tag). */
  etag: string;
  /** When the file last changed (ms precision; HTTP dates compare at whole seconds). */
  lastModified: Date;
  /**
   * Whether Last-Modified is a strong validator: no other version of the file has the same second
   * (RFC 9110 §8.8.2.2). Only an If-Range date relies on it.
   */
  lastModifiedStrong: boolean;
}

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** `proceed`: do it; `not-modified`: answer 304; `failed`: answer 412. */
export type PreconditionOutcome = 'proceed' | 'not-modified' | 'failed';

const ETAGC = /^[\x21\x23-\x7e\x80-\xff]*$/;

/**
 * `*`, or the entity tags of a list header; undefined when the text is not such a list. A bare
 * token without quotes (`abc`) is taken as the strong tag `"abc"`, as clients of earlier versions sent.
 */
export function parseTagList(value: string): '*' | EntityTag[] | undefined {
  const text = value.trim();
  if (text === '*') return '*';
  const tags: EntityTag[] = [];
  for (const raw of text.split(',')) {
    const member = raw.trim();
    if (member === '') continue; // empty list elements are allowed (RFC 9110 §5.6.1)
    const tag = parseEntityTag(member);
    if (tag === undefined) return undefined;
    tags.push(tag);
  }
  return tags.length === 0 ? undefined : tags;
}

export function parseEntityTag(member: string): EntityTag | undefined {
  const quoted = /^(W\/)?"([^"]*)"$/.exec(member);
  if (quoted !== null) {
    const opaque = quoted[2] ?? '';
    return ETAGC.test(opaque) ? { weak: quoted[1] !== undefined, opaque } : undefined;
  }
  if (member.startsWith('W/') || !/^[\x21\x23-\x29\x2b\x2d-\x7e]+$/.test(member)) return undefined;
  return { weak: false, opaque: member };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms, all GMT), as
 * epoch milliseconds; undefined when the text is not one.
 */
export function parseHttpDate(value: string): number | undefined {
  const text = value.trim();
  let parts: { day: number; month: number; year: number; h: number; m: number; s: number } | undefined;
  const fix = IMF_FIXDATE.exec(text);
  const old = RFC850.exec(text);
  const asc = ASCTIME.exec(text);
  if (fix !== null) {
    const [, d, mon, y, h, m, s] = fix;
    parts = {
      day: +(d ?? ''),
      month: MONTHS.indexOf(mon ?? ''),
      year: +(y ?? ''),
      h: +(h ?? ''),
      m: +(m ?? ''),
      s: +(s ?? ''),
    };
  } else if (old !== null) {
    const [, d, mon, yy, h, m, s] = old;
    // Two-digit years: the most recent year in the past with those digits (RFC 9110 §5.6.7).
    const now = new Date().getUTCFullYear();
    let year = now - (now % 100) + +(yy ?? '');
    if (year > now + 50) year -= 100;
    parts = {
      day: +(d ?? ''),
      month: MONTHS.indexOf(mon ?? ''),
      year,
      h: +(h ?? ''),
      m: +(m ?? ''),
      s: +(s ?? ''),
    };
  } else if (asc !== null) {
    const [, mon, d, h, m, s, y] = asc;
    parts = {
      day: +(d ?? '').trim(),
      month: MONTHS.indexOf(mon ?? ''),
      year: +(y ?? ''),
      h: +(h ?? ''),
      m: +(m ?? ''),
      s: +(s ?? ''),
    };
  }
  if (parts === undefined) return undefined;
  const { day, month, year, h, m, s } = parts;
  if (h > 23 || m > 59 || s > 60 || day < 1) return undefined;
  const time = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March: such a date is not valid.
  if (new Date(time).getUTCDate() !== day) return undefined;
  return time;
}

/** Whole seconds, as HTTP dates carry them. */
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

const strongMatch = (tag: EntityTag, etag: string) => !tag.weak && tag.opaque === etag;
/** Our ETags are all strong, so a weak comparison ignores only the tag's own W/. */
const weakMatch = (tag: EntityTag, etag: string) => tag.opaque === etag;

/** Which header of a request is malformed, or undefined when all can be evaluated (api: 400). */
export function conditionalHeaderProblem(headers: ConditionalHeaders): string | undefined {
  for (const name of ['ifMatch', 'ifNoneMatch'] as const) {
    const value = headers[name];
    if (value !== undefined && parseTagList(value) === undefined) {
      return `${CONDITIONAL_HEADER_NAMES[name]} must be "*" or a list of entity tags ("<etag>", W/"<etag>")`;
    }
  }
  return undefined;
}

/**
 * RFC 9110 §13.2.2 steps 1–4 for `method` on a file whose current validators are `current` (undefined
 * when there is no file; the caller answers 404 first for anything but PUT and POST). Malformed list
 * headers fail (a condition that cannot be understood never lets a change through); malformed dates
 * are ignored, as the RFC says.
 */
export function evaluatePreconditions(
  method: Method,
  headers: ConditionalHeaders,
  current: Validators | undefined,
): PreconditionOutcome {
  const safe = method === 'GET' || method === 'HEAD';
  // 1. If-Match, else 2. If-Unmodified-Since
  if (headers.ifMatch !== undefined) {
    const list = parseTagList(headers.ifMatch);
    if (list === undefined || current === undefined) return 'failed';
    if (list !== '*' && !list.some((tag) => strongMatch(tag, current.etag))) return 'failed';
  } else if (headers.ifUnmodifiedSince !== undefined && current !== undefined) {
    const date = parseHttpDate(headers.ifUnmodifiedSince);
    if (date !== undefined && seconds(current.lastModified) > Math.floor(date / 1000)) return 'failed';
  }
  // 3. If-None-Match, else 4. If-Modified-Since (GET and HEAD only)
  if (headers.ifNoneMatch !== undefined) {
    const list = parseTagList(headers.ifNoneMatch);
    if (list === undefined) return 'failed';
    const hit = current !== undefined && (list === '*' || list.some((tag) => weakMatch(tag, current.etag)));
    if (hit) return safe ? 'not-modified' : 'failed';
  } else if (safe && headers.ifModifiedSince !== undefined && current !== undefined) {
    const date = parseHttpDate(headers.ifModifiedSince);
    if (date !== undefined && seconds(current.lastModified) <= Math.floor(date / 1000)) return 'not-modified';
  }
  return 'proceed';
}

/**
 * RFC 9110 §13.1.5 (step 5 of §13.2.2): may a Range be honoured? True without If-Range; with one, only
 * when its entity tag strongly matches the current ETag, or its date exactly matches a strong
 * Last-Modified. Anything else (a weak tag, another date, garbage) means: send the whole file.
 */
export function ifRangeHolds(ifRange: string | undefined, current: Validators): boolean {
  if (ifRange === undefined) return true;
  const text = ifRange.trim();
  if (text.startsWith('"') || text.startsWith('W/"')) {
    const tag = parseEntityTag(text);
    return tag !== undefined && strongMatch(tag, current.etag);
  }
  const date = parseHttpDate(text);
  if (date === undefined || !current.lastModifiedStrong) return false;
  return Math.floor(date / 1000) === seconds(current.lastModified) && date % 1000 === 0;
}

/** Does the request carry a condition whose outcome depends on the target's current state? */
export function asksAboutState(method: Method, headers: ConditionalHeaders): boolean {
  if (headers.ifMatch !== undefined || headers.ifUnmodifiedSince !== undefined) return true;
  if (headers.ifModifiedSince !== undefined || headers.ifRange !== undefined) return true;
  if (headers.ifNoneMatch === undefined) return false;
  // "Create only" asks no more than any create does: whether the name is free.
  return !((method === 'PUT' || method === 'POST') && headers.ifNoneMatch.trim() === '*');
}
