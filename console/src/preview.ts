/**
 * What the console may show of a pod file, from its declared type. A pod's bytes are someone else's:
 * text is shown as text (a text node, never markup), raster images through a blob: URL under a
 * passive type, and anything that could run (HTML, SVG, XML, scripts, PDF) is not previewed at all,
 * only downloaded.
 */
export type PreviewKind = 'text' | 'image' | 'none';

/** Raster image types a browser decodes without running anything. SVG is not one of them. */
const PASSIVE_IMAGES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
]);

const TEXT_TYPES = new Set(['text/plain', 'text/csv', 'text/markdown', 'application/json']);

/** Files above this are not previewed (downloaded instead). */
export const PREVIEW_MAX_BYTES = 2 * 1024 * 1024;

export function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function previewKind(contentType: string, size: number): PreviewKind {
  if (size > PREVIEW_MAX_BYTES) return 'none';
  const type = mediaTypeOf(contentType);
  if (PASSIVE_IMAGES.has(type)) return 'image';
  if (TEXT_TYPES.has(type)) return 'text';
  return 'none';
}
