/** Media kinds come from the bytes: the declared type and name only name the kind of text. */
import { describe, expect, it } from 'vitest';
import { detectKind, imageFormat, looksLikeText } from '../../worker/processing/media-kind.ts';
import { makeImage, makePdf } from '../helpers/processing-fixtures.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('detectKind', () => {
  it('recognises every supported image format from its bytes, whatever the declared type says', async () => {
    for (const format of ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const) {
      const head = (await makeImage(format, 16, 16)).subarray(0, 64);
      expect(imageFormat(head), format).toBe(format);
      expect(detectKind(head, 'application/octet-stream', 'x.bin'), format).toBe('image');
      expect(detectKind(head, 'text/plain', 'notes.txt'), format).toBe('image');
    }
  });

  it('takes a PDF declared image/png for a PDF', async () => {
    const pdf = await makePdf(1);
    expect(detectKind(pdf.subarray(0, 4096), 'image/png', 'photo.png')).toBe('pdf');
    // Junk before the marker, as PDF readers tolerate: a PDF when it says it is one.
    const shifted = new Uint8Array([...utf8('junk\n'), ...pdf.subarray(0, 4096)]);
    expect(detectKind(shifted, 'application/pdf', 'a')).toBe('pdf');
    expect(detectKind(shifted, 'application/octet-stream', 'a.pdf')).toBe('pdf');
  });

  it('keeps a note that quotes the PDF header a note', () => {
    const note = utf8('# Formats\n\nA PDF starts with %PDF-1.7 and ends with %%EOF.\n');
    expect(detectKind(note, 'text/markdown', 'formats.md')).toBe('markdown');
    expect(detectKind(note, 'text/plain', 'formats.txt')).toBe('text');
  });

  it('gives bytes that nothing recognises no kind, whatever they are declared as', () => {
    const garbage = new Uint8Array([0x00, 0x13, 0x37, 0xfe, 0x80, 0x81, 0x00, 0x42]);
    expect(detectKind(garbage, 'image/png', 'photo.png')).toBeUndefined();
    expect(detectKind(garbage, 'text/plain', 'notes.txt')).toBeUndefined();
    expect(detectKind(garbage, 'application/pdf', 'a.pdf')).toBeUndefined();
    expect(detectKind(new Uint8Array(0), 'text/plain', 'empty.txt')).toBeUndefined();
    // Text bytes declared as an image are not an image, and not text either.
    expect(detectKind(utf8('hello'), 'image/png', 'photo.png')).toBeUndefined();
    // HEIC (HEVC) is not decoded by this build: no kind.
    const heic = new Uint8Array([0, 0, 0, 24, ...utf8('ftypheic'), 0, 0, 0, 0, ...utf8('mif1heic')]);
    expect(detectKind(heic, 'image/heic', 'photo.heic')).toBeUndefined();
  });

  it('names the kind of text from the declared type, or from the name when the type says nothing', () => {
    const text = utf8('# Title\n\nSome *notes*, café.\n');
    expect(detectKind(text, 'text/markdown; charset=utf-8', 'x')).toBe('markdown');
    expect(detectKind(text, 'text/plain', 'notes.md')).toBe('markdown');
    expect(detectKind(text, 'text/plain', 'notes.txt')).toBe('text');
    expect(detectKind(text, 'text/csv', 'table.csv')).toBe('text');
    expect(detectKind(text, 'application/json', 'x')).toBe('json');
    expect(detectKind(text, 'application/ld+json', 'x')).toBe('json');
    expect(detectKind(text, 'application/octet-stream', 'data.json')).toBe('json');
    expect(detectKind(text, '', 'readme.markdown')).toBe('markdown');
    expect(detectKind(text, 'application/octet-stream', 'program.exe')).toBeUndefined();
    expect(detectKind(text, 'application/zip', 'notes.txt')).toBeUndefined();
  });

  it('reads text whose last character the head cuts, and refuses NULs and invalid UTF-8', () => {
    const euro = utf8('price: 5 €');
    expect(looksLikeText(euro.subarray(0, euro.length - 1))).toBe(true);
    expect(looksLikeText(euro.subarray(0, euro.length - 2))).toBe(true);
    expect(looksLikeText(new Uint8Array([0x61, 0x00, 0x62]))).toBe(false);
    expect(looksLikeText(new Uint8Array([0x61, 0xff, 0x62]))).toBe(false);
    expect(looksLikeText(new Uint8Array([0x61, 0xc3, 0x28, 0x62]))).toBe(false);
  });
});
