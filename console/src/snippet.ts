/**
 * A search hit's snippet as plain and marked pieces of text, for rendering as text nodes: the API gives
 * the matched words as offsets, never as markup, so nothing of a file's content is ever parsed as HTML.
 */
import type { Snippet } from './api/types.ts';

export interface SnippetPiece {
  text: string;
  marked: boolean;
}

/** The snippet's text cut at its highlights; highlights out of order, overlapping or out of range are skipped. */
export function snippetPieces(snippet: Snippet | null): SnippetPiece[] {
  if (snippet === null) return [];
  const pieces: SnippetPiece[] = [];
  let at = 0;
  for (const { start, end } of snippet.highlights) {
    if (start < at || end <= start || end > snippet.text.length) continue;
    if (start > at) pieces.push({ text: snippet.text.slice(at, start), marked: false });
    pieces.push({ text: snippet.text.slice(start, end), marked: true });
    at = end;
  }
  if (at < snippet.text.length) pieces.push({ text: snippet.text.slice(at), marked: false });
  return pieces;
}
