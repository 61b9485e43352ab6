/**
 * The bounds of processing one file (previews and text): what a hostile file can cost at most, and the
 * stable codes a refusal carries. The pipeline reads the values from the environment (worker/config.ts)
 * and stores a refusal's code as the file's failure reason.
 */

export interface ProcessingLimits {
  /** Bytes of the source file; a bigger one is refused before any decoding (too_large). */
  maxInputBytes: number;
  /** Pixels (width × height) of an image or of an image inside a PDF (too_many_pixels). */
  maxPixels: number;
  /** Pages of a PDF; a bigger one is refused (too_many_pages). */
  maxPdfPages: number;
  /** Text is read from the first N pages of a PDF only. */
  maxTextPages: number;
  /** Characters of text kept per file. */
  maxTextChars: number;
  /** Time one job may take, from the moment it starts (timed_out). */
  timeoutMs: number;
  /** V8 heap of the processing thread (out_of_memory). */
  maxMemoryMb: number;
}

export const defaultLimits: ProcessingLimits = Object.freeze({
  maxInputBytes: 64 * 1024 * 1024,
  maxPixels: 50_000_000,
  maxPdfPages: 2000,
  maxTextPages: 200,
  maxTextChars: 200_000,
  timeoutMs: 30_000,
  maxMemoryMb: 256,
});

export const REFUSAL_CODES = [
  'too_large',
  'too_many_pixels',
  'too_many_pages',
  'timed_out',
  'out_of_memory',
  'unsupported',
  'corrupt',
] as const;

export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** Why a file cannot be processed: a stable code the pipeline stores as the file's failure reason. */
export class ProcessingRefused extends Error {
  override readonly name = 'ProcessingRefused';
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

export const isRefusalCode = (value: unknown): value is RefusalCode =>
  typeof value === 'string' && (REFUSAL_CODES as readonly string[]).includes(value);

/** Refuses bytes above maxInputBytes, before anything decodes them. */
export function checkInputSize(bytes: Uint8Array, limits: ProcessingLimits): void {
  if (bytes.byteLength > limits.maxInputBytes)
    throw new ProcessingRefused(
      'too_large',
      `the file has ${bytes.byteLength} bytes, more than the ${limits.maxInputBytes} processing accepts`,
    );
}
