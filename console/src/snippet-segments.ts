/**
 * A search snippet as pieces to show: plain text, and the matched words (to wrap in <mark>), from the
 * offsets the API gives. Never markup: each piece becomes a text node. Offsets that are out of range,
 * empty, reversed or overlapping are clamped or dropped, so a bad answer cannot break the page.
 */
export interface Highlight {
  start: number;
  end: number;
}

export interface SnippetSegment {
  text: string;
  marked: boolean;
}

export function snippetSegments(text: string, highlights: readonly Highlight[]): SnippetSegment[] {
  const ranges = highlights
    .filter((h) => Number.isInteger(h.start) && Number.isInteger(h.end))
    .map((h) => ({ start: Math.max(0, h.start), end: Math.min(text.length, h.end) }))
    .filter((h) => h.start < h.end)
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const segments: SnippetSegment[] = [];
  let at = 0;
  for (const range of ranges) {
    if (range.end <= at) continue;
    const start = Math.max(range.start, at);
    if (start > at) segments.push({ text: text.slice(at, start), marked: false });
    const last = segments.at(-1);
    // Touching or overlapping matches become one mark.
    if (start === at && last?.marked === true) last.text += text.slice(start, range.end);
    else segments.push({ text: text.slice(start, range.end), marked: true });
    at = range.end;
  }
  if (at < text.length) segments.push({ text: text.slice(at), marked: false });
  return segments;
}
