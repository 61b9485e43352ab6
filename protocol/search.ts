/**
 * Search of a pod (`GET /v1/users/{owner}/search?q=…&limit=…`, command `search.query`): the limits of a
 * query and the shape of its answer, declared once for the api (which refuses a bad query at the edge),
 * the worker (which checks again) and the SDK.
 */

/** Characters of a query at most. */
export const MAX_QUERY_CHARS = 256;
/** Words of a query at most. */
export const MAX_QUERY_TERMS = 16;
export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 50;

/**
 * What separates words, for the index and for queries alike: white space, punctuation, symbols and
 * control characters. So `lab-2026.pdf` is the words `lab`, `2026` and `pdf`, `<b>word</b>` holds
 * `b` and `word`, and characters a regular expression would treat specially are only separators.
 */
export const WORD_SEPARATOR = /[\p{Z}\p{P}\p{S}\p{Cc}]+/u;
/** A word (the complement of WORD_SEPARATOR), for scanning a text. */
export const WORD = /[^\p{Z}\p{P}\p{S}\p{Cc}]+/gu;

/** The words of `text`, as the index and the queries see them (lower case). */
export function wordsOf(text: string): string[] {
  return text
    .split(WORD_SEPARATOR)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/** Why `q` is not an acceptable query, or undefined when it is. */
export function queryProblem(q: string): string | undefined {
  if (q.trim() === '') return 'q, the query, is required';
  if (q.length > MAX_QUERY_CHARS) return `the query is longer than ${MAX_QUERY_CHARS} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(q)) return 'the query has a control character';
  const words = wordsOf(q);
  if (words.length === 0) return 'the query has no word (only spaces and punctuation)';
  if (words.length > MAX_QUERY_TERMS) return `the query has more than ${MAX_QUERY_TERMS} words`;
  return undefined;
}

/** Why `limit` is not acceptable, or undefined when it is. */
export function limitProblem(limit: number): string | undefined {
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_SEARCH_LIMIT
    ? undefined
    : `limit is a whole number from 1 to ${MAX_SEARCH_LIMIT}`;
}

/** Where a snippet comes from: the file's extracted text or one of its metadata fields. */
export type SnippetField = 'text' | 'name' | 'description' | 'tags';

/**
 * A short piece of the hit's own text around the words that matched. `highlights` are offsets into
 * `text` (UTF-16 code units, `end` exclusive), never markup: show `text` as text and mark the ranges.
 */
export interface Snippet {
  field: SnippetField;
  text: string;
  highlights: { start: number; end: number }[];
}

export interface SearchHit {
  /** The file's path in its pod, without a leading slash. */
  path: string;
  /** Its last segment. */
  name: string;
  /** Higher is better; comparable only within one answer. */
  score: number;
  snippet: Snippet | null;
  contentType: string;
  size: number;
  updatedAt: string;
  etag: string;
  author: string | null;
}

export interface SearchAnswer {
  /** Best first, at most `limit`. */
  items: SearchHit[];
}
