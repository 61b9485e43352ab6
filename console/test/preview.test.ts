import { describe, expect, it } from 'vitest';
import { PREVIEW_MAX_BYTES, previewKind } from '../src/preview.ts';

describe('what the console previews of a pod file', () => {
  it('shows text and raster images', () => {
    expect(previewKind('text/plain; charset=utf-8', 10)).toBe('text');
    expect(previewKind('application/json', 10)).toBe('text');
    expect(previewKind('image/png', 10)).toBe('image');
    expect(previewKind('IMAGE/JPEG', 10)).toBe('image');
  });

  it('never renders active content from the pod: HTML, SVG, XML, scripts, PDF are download only', () => {
    for (const type of [
      'text/html',
      'image/svg+xml',
      'application/xhtml+xml',
      'text/xml',
      'application/javascript',
      'text/javascript',
      'application/pdf',
      'application/octet-stream',
      '',
    ]) {
      expect(previewKind(type, 10), type).toBe('none');
    }
  });

  it('does not preview large files', () => {
    expect(previewKind('text/plain', PREVIEW_MAX_BYTES + 1)).toBe('none');
  });
});
