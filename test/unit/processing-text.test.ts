/** Text for the search index: PDFs, text, Markdown and JSON, bounded in pages and characters. */
import { describe, expect, it } from 'vitest';
import { cutText, extractText } from '../../worker/processing/extract-text.ts';
import {
  defaultLimits,
  type ProcessingLimits,
  ProcessingRefused,
} from '../../worker/processing/processing-limits.ts';
import { makePdf } from '../helpers/processing-fixtures.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const limits = (overrides: Partial<ProcessingLimits>): ProcessingLimits => ({
  ...defaultLimits,
  ...overrides,
});

async function refusalCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProcessingRefused);
  return (error as ProcessingRefused).code;
}

describe('extractText of PDFs', () => {
  it('reads the text of every page, line by line', async () => {
    const pdf = await makePdf(2, { text: (n) => [`Lab results page ${n}`, 'Haemoglobin normal'] });
    const text = await extractText(pdf, 'pdf', defaultLimits);
    expect(text).toBe('Lab results page 1\nHaemoglobin normal\n\nLab results page 2\nHaemoglobin normal');
  });

  it('reads the first maxTextPages pages only', async () => {
    const pdf = await makePdf(5, { text: (n) => [`marker${n}`] });
    const text = await extractText(pdf, 'pdf', limits({ maxTextPages: 2 }));
    expect(text).toContain('marker2');
    expect(text).not.toContain('marker3');
  });

  it('keeps at most maxTextChars characters', async () => {
    const pdf = await makePdf(3, { text: () => ['x'.repeat(60)] });
    expect((await extractText(pdf, 'pdf', limits({ maxTextChars: 100 }))).length).toBe(100);
  });

  it('refuses a PDF of more pages than maxPdfPages, and bytes that are not a PDF', async () => {
    expect(await refusalCode(extractText(await makePdf(4), 'pdf', limits({ maxPdfPages: 3 })))).toBe(
      'too_many_pages',
    );
    expect(await refusalCode(extractText(utf8('%PDF-1.4\nnonsense'), 'pdf', defaultLimits))).toBe('corrupt');
  });
});

describe('extractText of text, Markdown and JSON', () => {
  it('decodes UTF-8, drops the byte order mark and replaces invalid bytes', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('café '), 0xff, 0xfe, ...utf8(' fin')]);
    expect(await extractText(bytes, 'text', defaultLimits)).toBe('café \ufffd\ufffd fin');
    expect(await extractText(utf8('# Notes\n\n- *one*\n'), 'markdown', defaultLimits)).toBe(
      '# Notes\n\n- *one*\n',
    );
  });

  it('replaces control characters but keeps tabs and line breaks', async () => {
    expect(await extractText(utf8('a\u0000b\u001bc\td\r\ne'), 'text', defaultLimits)).toBe('a b c\td\r\ne');
  });

  it('keeps at most maxTextChars characters, never half of a surrogate pair', async () => {
    const long = utf8('😀'.repeat(1000));
    const text = await extractText(long, 'text', limits({ maxTextChars: 101 }));
    expect(text.length).toBe(100);
    expect(text).toBe('😀'.repeat(50));
    expect(cutText('ab😀', 3)).toBe('ab');
    expect(await extractText(utf8('y'.repeat(10_000)), 'markdown', limits({ maxTextChars: 7 }))).toBe(
      'yyyyyyy',
    );
  });

  it('takes the keys and string values of JSON, in order', async () => {
    const json = {
      title: 'Blood test',
      tags: ['lab', 'annual'],
      n: 3,
      ok: true,
      nested: { doctor: 'Dr Who' },
    };
    expect(await extractText(utf8(JSON.stringify(json)), 'json', defaultLimits)).toBe(
      'title\nBlood test\ntags\nlab\nannual\nn\nok\nnested\ndoctor\nDr Who',
    );
  });

  it('walks JSON nested far deeper than the call stack allows', async () => {
    const depth = 200_000;
    const json = `${'['.repeat(depth)}"deep"${']'.repeat(depth)}`;
    expect(await extractText(utf8(json), 'json', defaultLimits)).toBe('deep');
  });

  it('stops walking JSON at maxTextChars', async () => {
    const json = JSON.stringify(Array.from({ length: 10_000 }, (_, i) => `value${i}`));
    const text = await extractText(utf8(json), 'json', limits({ maxTextChars: 50 }));
    expect(text.length).toBeLessThanOrEqual(50);
    expect(text.startsWith('value0\nvalue1\n')).toBe(true);
  });

  it('refuses JSON that does not parse, bytes above maxInputBytes and kinds without text', async () => {
    expect(await refusalCode(extractText(utf8('{"a": '), 'json', defaultLimits))).toBe('corrupt');
    expect(await refusalCode(extractText(utf8('hello'), 'text', limits({ maxInputBytes: 4 })))).toBe(
      'too_large',
    );
    expect(await refusalCode(extractText(utf8('hello'), 'image', defaultLimits))).toBe('unsupported');
  });
});
