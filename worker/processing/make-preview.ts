/** Previews of a file: WebP images of a few sizes, for the kinds that have one (images and PDFs). */
import { imagePreviews } from './image-preview.ts';
import type { MediaKind } from './media-kind.ts';
import { pdfPreviews } from './pdf-preview.ts';
import { checkInputSize, type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';

export { PREVIEW_SIZES } from './preview-sizes.ts';

/**
 * A WebP (quality 80) per size whose longest side is at most that size, never enlarged; EXIF
 * orientation applied, metadata stripped (no GPS leaks from a photo's preview). PDFs: the first page.
 * Throws ProcessingRefused.
 */
export async function makePreviews(
  bytes: Uint8Array,
  kind: MediaKind,
  sizes: readonly number[],
  limits: ProcessingLimits,
): Promise<Map<number, Buffer>> {
  checkInputSize(bytes, limits);
  for (const size of sizes)
    if (!(Number.isInteger(size) && size >= 1 && size <= 4096))
      throw new RangeError(`a preview size is an integer from 1 to 4096, not ${size}`);
  if (kind === 'image') return imagePreviews(bytes, sizes, limits);
  if (kind === 'pdf') return pdfPreviews(bytes, sizes, limits);
  throw new ProcessingRefused('unsupported', `files of kind ${kind} have no preview`);
}
