import { describe, expect, it } from 'vitest';
import { snippetSegments } from '../src/snippet-segments.ts';

const marked = (text: string, highlights: { start: number; end: number }[]) =>
  snippetSegments(text, highlights)
    .filter((s) => s.marked)
    .map((s) => s.text);

describe('a search snippet as text pieces with its matches marked', () => {
  it('cuts the text at the offsets, keeping every character once and in order', () => {
    const text = 'Allergies: penicillin. Penicillin again';
    const segments = snippetSegments(text, [
      { start: 11, end: 21 },
      { start: 23, end: 33 },
    ]);
    expect(segments).toEqual([
      { text: 'Allergies: ', marked: false },
      { text: 'penicillin', marked: true },
      { text: '. ', marked: false },
      { text: 'Penicillin', marked: true },
      { text: ' again', marked: false },
    ]);
    expect(segments.map((s) => s.text).join('')).toBe(text);
  });

  it('marks a match at the very start or end, and nothing when there is no highlight', () => {
    expect(snippetSegments('word end', [{ start: 0, end: 4 }])[0]).toEqual({ text: 'word', marked: true });
    expect(snippetSegments('a word', [{ start: 2, end: 6 }]).at(-1)).toEqual({ text: 'word', marked: true });
    expect(snippetSegments('plain', [])).toEqual([{ text: 'plain', marked: false }]);
    expect(snippetSegments('', [{ start: 0, end: 3 }])).toEqual([]);
  });

  it('sorts unordered offsets and merges overlapping or touching ones', () => {
    expect(
      marked('abcdefghij', [
        { start: 6, end: 8 },
        { start: 0, end: 3 },
        { start: 2, end: 5 },
        { start: 5, end: 6 },
      ]),
    ).toEqual(['abcdefgh']);
    const text = 'abcdefghij';
    const segments = snippetSegments(text, [
      { start: 1, end: 3 },
      { start: 1, end: 2 },
    ]);
    expect(segments.map((s) => s.text).join('')).toBe(text);
    expect(
      marked(text, [
        { start: 1, end: 3 },
        { start: 1, end: 2 },
      ]),
    ).toEqual(['bc']);
  });

  it('clamps offsets past the text and drops empty, reversed or non-integer ones', () => {
    const text = 'short';
    expect(marked(text, [{ start: -4, end: 2 }])).toEqual(['sh']);
    expect(marked(text, [{ start: 3, end: 99 }])).toEqual(['rt']);
    expect(marked(text, [{ start: 4, end: 2 }])).toEqual([]);
    expect(marked(text, [{ start: 2, end: 2 }])).toEqual([]);
    expect(marked(text, [{ start: 0.5, end: 3 }])).toEqual([]);
    expect(marked(text, [{ start: 10, end: 20 }])).toEqual([]);
    expect(
      snippetSegments(text, [{ start: 10, end: 20 }])
        .map((s) => s.text)
        .join(''),
    ).toBe(text);
  });

  it('keeps markup in a snippet as text to show, never as something to parse', () => {
    const text = '<img src=x onerror=alert(1)> result';
    const segments = snippetSegments(text, [{ start: 29, end: 35 }]);
    expect(segments).toEqual([
      { text: '<img src=x onerror=alert(1)> ', marked: false },
      { text: 'result', marked: true },
    ]);
  });
});
