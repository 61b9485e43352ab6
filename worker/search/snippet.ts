/**
 * A snippet: a short piece of one file's own text (or of one of its metadata fields) around the first
 * place where a matched word occurs, with the matched words given as offsets, never as markup, so that
 * it is safe to show as text whatever the file contains.
 */
import { type Snippet, type SnippetField, WORD, WORD_SEPARATOR } from '../../protocol/search.ts';

export const SNIPPET_CHARS = 160;
/** Characters of context shown before the first match. */
const LEAD_CHARS = 40;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters become spaces
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f\u2028\u2029]/g;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The snippet of `text` around the first word whose lower case is in `terms`; undefined when none is.
 * At most `maxChars` characters, never cutting a surrogate pair; line breaks and control characters
 * become spaces (one for one, so the offsets hold).
 */
export function snippetOf(
  field: SnippetField,
  text: string,
  terms: ReadonlySet<string>,
  maxChars = SNIPPET_CHARS,
): Snippet | undefined {
  let first: number | undefined;
  for (const match of text.matchAll(WORD)) {
    if (terms.has(match[0].toLowerCase())) {
      first = match.index;
      break;
    }
  }
  if (first === undefined) return undefined;
  let start = Math.max(0, first - LEAD_CHARS);
  if (start > 0) {
    // Begin at a word's start: after the first separator at or after `start` (not past the match).
    const separator = text.slice(start, first).search(WORD_SEPARATOR);
    start = separator < 0 ? first : start + separator + 1;
  }
  if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start += 1;
  let end = Math.min(text.length, start + maxChars);
  if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  const piece = text.slice(start, end);
  const highlights: { start: number; end: number }[] = [];
  for (const match of piece.matchAll(WORD)) {
    const wordEnd = match.index + match[0].length;
    // A word cut by the end of the snippet is not marked (it may not be the matched word).
    if (wordEnd === piece.length && end < text.length) break;
    if (terms.has(match[0].toLowerCase())) highlights.push({ start: match.index, end: wordEnd });
  }
  return { field, text: piece.replace(CONTROL_OR_BREAK, ' '), highlights };
}
