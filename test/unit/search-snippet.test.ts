/** Snippets: around the first match, bounded, offsets instead of markup, never a broken character. */
import { describe, expect, it } from 'vitest';
import { SNIPPET_CHARS, snippetOf } from '../../worker/search/snippet.ts';

const marked = (s: { text: string; highlights: { start: number; end: number }[] }) =>
  s.highlights.map((h) => s.text.slice(h.start, h.end));

describe('snippetOf', () => {
  it('shows the words around the first match and marks every matched word by offsets', () => {
    const text = `${'lorem ipsum '.repeat(30)}the Haemoglobin was fine; haemoglobin again. ${'dolor '.repeat(40)}`;
    const snippet = snippetOf('text', text, new Set(['haemoglobin']));
    expect(snippet?.field).toBe('text');
    expect(snippet?.text.length).toBeLessThanOrEqual(SNIPPET_CHARS);
    expect(snippet?.text).toMatch(/^(lorem|ipsum) /); // starts at a word
    expect(marked(snippet ?? { text: '', highlights: [] })).toEqual(['Haemoglobin', 'haemoglobin']);
  });

  it('is undefined when no word matches (a part of a word is no match)', () => {
    expect(snippetOf('text', 'haemoglobinology only', new Set(['haemoglobin']))).toBeUndefined();
    expect(snippetOf('text', '', new Set(['x']))).toBeUndefined();
  });

  it('gives markup as text: nothing is escaped or added, offsets point at the word', () => {
    const snippet = snippetOf('text', '<script>alert(1)</script> secret <b>word</b>', new Set(['word']));
    expect(snippet?.text).toBe('<script>alert(1)</script> secret <b>word</b>');
    expect(marked(snippet ?? { text: '', highlights: [] })).toEqual(['word']);
  });

  it('turns line breaks and control characters into spaces, one for one', () => {
    const snippet = snippetOf('text', 'first\nsecond\r\nthird\u0007word', new Set(['third']));
    expect(snippet?.text).toBe('first second  third word');
    expect(marked(snippet ?? { text: '', highlights: [] })).toEqual(['third']);
  });

  it('never cuts a surrogate pair at either end', () => {
    const emoji = '😀';
    const text = `${emoji.repeat(30)} needle ${emoji.repeat(200)}`;
    const snippet = snippetOf('text', text, new Set(['needle']));
    const body = snippet?.text ?? '';
    expect(body.length).toBeLessThanOrEqual(SNIPPET_CHARS);
    // A lone surrogate does not survive a UTF-8 round trip.
    expect(Buffer.from(body).toString()).toBe(body);
    expect(marked(snippet ?? { text: '', highlights: [] })).toEqual(['needle']);
  });

  it('does not mark a word cut by the end of the snippet', () => {
    const text = `needle ${'x'.repeat(SNIPPET_CHARS - 10)} needle`;
    const snippet = snippetOf('text', text, new Set(['needle']));
    expect(snippet?.highlights).toEqual([{ start: 0, end: 6 }]);
  });
});
