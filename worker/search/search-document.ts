/**
 * What the processing pipeline gives the indexer for one version of a pod file: its metadata and the
 * text extracted from it. The text is indexed (at most `maxTextChars` of it) and kept beside the file's
 * other derived data for snippets; it is never part of the index document itself.
 */
export interface SearchDocument {
  path: string;
  etag: string;
  /** The last path segment. */
  name: string;
  /** The extracted text; '' when the file has none. */
  text: string;
  tags: string[];
  description: string;
  author: string | null;
  contentType: string;
  updatedAt: string;
  size: number;
}

/** What the index keeps of a file besides its words: the version it describes. */
export interface IndexEntry {
  etag: string;
  updatedAt: string;
}

/** The folders of a path, as words to index (`medical/2026/lab.pdf` → `medical 2026`). */
export const foldersOf = (path: string) => path.split('/').slice(0, -1).join(' ');

/** `text` cut to at most `max` characters, never in the middle of a surrogate pair. */
export function boundedText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}
