/**
 * Previews made by the server (`?preview=256|1024`, WebP): which files to ask for one, how long to wait
 * while one is being made (202 + Retry-After), and how often at most. The preview's bytes are shown only
 * as an image, always typed image/webp, whatever the answer's headers say.
 */
import { mediaTypeOf } from './preview.ts';

export const THUMBNAIL_SIZE = 256;
export const LARGE_PREVIEW_SIZE = 1024;

/** The type every server-made preview is shown as (a passive raster image). */
export const PREVIEW_IMAGE_TYPE = 'image/webp';

/** Attempts after the first while the server says "pending" (202); then the console stops asking. */
export const MAX_PENDING_RETRIES = 5;
/** Bounds of the wait between two attempts, whatever Retry-After says. */
export const MIN_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 30_000;

/** Declared types the server makes previews of: raster images and PDFs (never SVG, which is markup). */
const PREVIEWABLE = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/tiff',
  'image/heic',
  'image/heif',
  'application/pdf',
]);

/** Whether the console asks the server for a preview of a file of this declared type. */
export function hasProcessedPreview(contentType: string | undefined): boolean {
  return contentType !== undefined && PREVIEWABLE.has(mediaTypeOf(contentType));
}

/**
 * The wait before attempt `retry` (1 for the first retry) after a 202, from its Retry-After header
 * (seconds; an HTTP date or garbage counts as absent); undefined when no more attempts are to be made.
 * Grows with the attempts, so a preview that takes long is asked for less often.
 */
export function pendingRetryDelayMs(retryAfter: string | null, retry: number): number | undefined {
  if (!Number.isInteger(retry) || retry < 1 || retry > MAX_PENDING_RETRIES) return undefined;
  const seconds = retryAfter !== null && /^\d{1,6}$/.test(retryAfter.trim()) ? Number(retryAfter) : 2;
  const wanted = seconds * 1000 * retry;
  return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, wanted));
}

/** Why processing failed, in words (the API's `processing.reason` codes; an unknown one as is). */
const REASONS: Record<string, string> = {
  too_many_pixels: 'the image has more pixels than the server decodes',
  too_many_pages: 'the PDF has more pages than the server reads',
  too_large: 'the file is larger than the server processes',
  timed_out: 'processing took longer than allowed',
  out_of_memory: 'processing needed more memory than allowed',
  corrupt: 'the file could not be decoded',
  gave_up: 'processing failed repeatedly and was given up',
};

export function processingReasonText(reason: string | undefined): string {
  if (reason === undefined || reason === '') return 'no reason given';
  return Object.hasOwn(REASONS, reason) ? (REASONS[reason] as string) : reason;
}
