/**
 * Text of a file for the search index: the text of a PDF's first maxTextPages pages (pdf.js), text and
 * Markdown as UTF-8 (invalid bytes replaced), and the keys and string values of JSON; at most
 * maxTextChars characters, and never more bytes decoded than those characters can take.
 */
import type { MediaKind } from './media-kind.ts';
import { withPdfDocument } from './pdf-document.ts';
import { checkInputSize, type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';

/** A UTF-16 string cut to `max` code units, never between the halves of a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Control characters other than tab and line breaks, which an index has no use for. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it removes
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** UTF-8 text, with a byte order mark dropped and invalid sequences replaced by U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, maxChars: number): string {
  // One UTF-16 code unit never takes more than 3 bytes of UTF-8: decode no more than that.
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(
    bytes.subarray(0, maxChars * 3),
  );
  return cutText(text.replace(CONTROL, ' '), maxChars);
}

/**
 * The keys and string values of a JSON document, one a line, in document order, until maxChars.
 * Walks with a stack of its own: no nesting depth overflows it.
 */
export function jsonText(bytes: Uint8Array, maxChars: number): string {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: false }).decode(bytes));
  } catch (error) {
    throw new ProcessingRefused('corrupt', `not valid JSON: ${(error as Error).message}`);
  }
  const lines: string[] = [];
  let length = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && length < maxChars) {
    const next = stack.pop();
    if (typeof next === 'string') {
      const line = next.replace(CONTROL, ' ').trim();
      if (line) {
        lines.push(line);
        length += line.length + 1;
      }
    } else if (Array.isArray(next)) {
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]);
    } else if (next !== null && typeof next === 'object') {
      const entries = Object.entries(next);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push(child, key);
      }
    }
  }
  return cutText(lines.join('\n'), maxChars);
}

/** The text of a PDF's first maxTextPages pages, a line break where pdf.js sees the end of a line. */
async function pdfText(bytes: Uint8Array, limits: ProcessingLimits): Promise<string> {
  return withPdfDocument(bytes, limits, async (document) => {
    const pages = Math.min(document.numPages, limits.maxTextPages);
    let text = '';
    for (let number = 1; number <= pages && text.length < limits.maxTextChars; number++) {
      const page = await document.getPage(number);
      try {
        const content = await page.getTextContent();
        for (const item of content.items) {
          if (!('str' in item)) continue;
          text += item.str;
          if (item.hasEOL) text += '\n';
        }
        text += '\n\n';
      } finally {
        page.cleanup();
      }
    }
    return cutText(text.replace(CONTROL, ' ').trim(), limits.maxTextChars);
  });
}

/**
 * Text for the search index: PDFs (first maxTextPages pages), text and Markdown as UTF-8 (invalid bytes
 * replaced), JSON: the string values and keys; at most maxTextChars. Throws ProcessingRefused.
 */
export async function extractText(
  bytes: Uint8Array,
  kind: MediaKind,
  limits: ProcessingLimits,
): Promise<string> {
  checkInputSize(bytes, limits);
  switch (kind) {
    case 'pdf':
      return pdfText(bytes, limits);
    case 'text':
    case 'markdown':
      return decodeUtf8(bytes, limits.maxTextChars);
    case 'json':
      return jsonText(bytes, limits.maxTextChars);
    default:
      throw new ProcessingRefused('unsupported', `files of kind ${kind} have no text`);
  }
}
