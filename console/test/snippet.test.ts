import { describe, expect, it } from 'vitest';
import { snippetPieces } from '../src/snippet.ts';

describe('a search snippet in the console', () => {
  it('cuts the text at its highlights, as text (markup in a file stays text)', () => {
    expect(
      snippetPieces({
        field: 'text',
        text: '<b>lab</b> result',
        highlights: [
          { start: 3, end: 6 },
          { start: 11, end: 17 },
        ],
      }),
    ).toEqual([
      { text: '<b>', marked: false },
      { text: 'lab', marked: true },
      { text: '</b> ', marked: false },
      { text: 'result', marked: true },
    ]);
  });

  it('skips highlights out of order, overlapping or out of range, and shows nothing for no snippet', () => {
    const text = 'abcdef';
    expect(
      snippetPieces({
        field: 'name',
        text,
        highlights: [
          { start: 2, end: 4 },
          { start: 1, end: 3 },
          { start: 5, end: 99 },
          { start: 4, end: 4 },
        ],
      }),
    ).toEqual([
      { text: 'ab', marked: false },
      { text: 'cd', marked: true },
      { text: 'ef', marked: false },
    ]);
    expect(snippetPieces(null)).toEqual([]);
  });
});
