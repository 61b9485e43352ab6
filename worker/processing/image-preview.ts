/**
 * Previews of images with sharp (libvips): the header is read first and an image of more pixels than
 * maxPixels is refused before a pixel is decoded; decoding fails on corrupt or truncated data; EXIF
 * orientation is applied and every piece of metadata (EXIF with GPS, XMP, ICC, comments) is dropped.
 */
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';

// Workers scale by processes, not by libvips threads; and a cache keeps decoded images of other
// tenants' files in memory for nothing.
sharp.cache(false);
sharp.concurrency(1);

/** The formats (as sharp names them) this module decodes; SVG, PDF, raw and the rest are refused. */
const DECODED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

export const PREVIEW_QUALITY = 80;
/** libwebp's effort (0–6): 2 takes a third of the time of the default 4, for files within a few percent. */
export const PREVIEW_EFFORT = 2;

const inputOptions = (limits: ProcessingLimits): SharpOptions => ({
  limitInputPixels: limits.maxPixels,
  failOn: 'error',
  // The first frame of an animated GIF or WebP, the first page of a TIFF.
  pages: 1,
  page: 0,
  sequentialRead: true,
});

/** sharp's and libvips's errors, as refusals. */
export function sharpRefusal(error: unknown): ProcessingRefused {
  if (error instanceof ProcessingRefused) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message))
    return new ProcessingRefused('too_many_pixels', `the image has too many pixels: ${message}`);
  if (/^timeout/i.test(message))
    return new ProcessingRefused('timed_out', `the image took too long: ${message}`);
  if (/unsupported image format/i.test(message))
    return new ProcessingRefused('unsupported', 'no supported image format recognises these bytes');
  return new ProcessingRefused('corrupt', `the image cannot be decoded: ${message}`);
}

/** Reads the header only: the format must be one decoded here, the pixels within maxPixels. */
async function checkImageHeader(bytes: Uint8Array, limits: ProcessingLimits): Promise<void> {
  const meta = await sharp(bytes, { ...inputOptions(limits), limitInputPixels: false }).metadata();
  if (!meta.format || !DECODED_FORMATS.has(meta.format))
    throw new ProcessingRefused('unsupported', `images in ${meta.format ?? 'this'} format get no preview`);
  if (meta.format === 'heif' && meta.compression !== 'av1')
    throw new ProcessingRefused('unsupported', 'HEIF images other than AVIF cannot be decoded here');
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw new ProcessingRefused('corrupt', 'the image has no size');
  if (width * height > limits.maxPixels)
    throw new ProcessingRefused(
      'too_many_pixels',
      `the image has ${width} × ${height} pixels, more than the ${limits.maxPixels} processing accepts`,
    );
}

/** One WebP per size from `source` (a fresh pipeline each time): longest side at most size, never enlarged. */
async function encodePreviews(
  source: () => Sharp,
  sizes: readonly number[],
  limits: ProcessingLimits,
): Promise<Map<number, Buffer>> {
  const seconds = Math.max(1, Math.ceil(limits.timeoutMs / 1000));
  const previews = new Map<number, Buffer>();
  for (const size of sizes) {
    const preview = await source()
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: PREVIEW_QUALITY, effort: PREVIEW_EFFORT })
      .timeout({ seconds })
      .toBuffer();
    previews.set(size, preview);
  }
  return previews;
}

/** WebP previews of an encoded image, one per size. */
export async function imagePreviews(
  bytes: Uint8Array,
  sizes: readonly number[],
  limits: ProcessingLimits,
): Promise<Map<number, Buffer>> {
  try {
    await checkImageHeader(bytes, limits);
    return await encodePreviews(() => sharp(bytes, inputOptions(limits)).autoOrient(), sizes, limits);
  } catch (error) {
    throw sharpRefusal(error);
  }
}

/** WebP previews of opaque RGBA pixels (a rendered PDF page), one per size. */
export async function rgbaPreviews(
  pixels: Uint8Array,
  width: number,
  height: number,
  sizes: readonly number[],
  limits: ProcessingLimits,
): Promise<Map<number, Buffer>> {
  try {
    return await encodePreviews(
      () => sharp(pixels, { raw: { width, height, channels: 4 } }).removeAlpha(),
      sizes,
      limits,
    );
  } catch (error) {
    throw sharpRefusal(error);
  }
}
