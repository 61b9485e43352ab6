/**
 * The preview sizes: the longest side in pixels. A module of its own so that the worker's main thread
 * (the api of previews, the sandbox's settings) knows them without loading what makes previews (sharp,
 * pdf.js and the canvas stay in the processing thread: about 14 MiB of mapped code and their heaps).
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';

export const PREVIEW_SIZES: readonly number[] = Object.freeze([256, 1024]);

/** Refuses a size that is not one of `sizes` (invalid), before anything is read. */
export function checkPreviewSize(sizes: readonly number[], size: number): void {
  if (!sizes.includes(size))
    throw new CommandError(ErrorCode.INVALID, `preview sizes are ${sizes.join(' and ')} (pixels)`);
}
