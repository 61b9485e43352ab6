/**
 * Opening a PDF with pdf.js (the legacy build, which Node 20 needs), bounded: no eval, no font faces,
 * no system fonts, embedded images above maxPixels skipped, and a document of more than maxPdfPages
 * pages refused. pdf.js parses in this thread (no pdf.js worker in Node); the processing sandbox bounds
 * its time and heap.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';

/** The folders of pdf.js's data files, as the paths (with a trailing slash) that Node's pdf.js reads. */
function pdfjsDataFolders() {
  const root = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  const folder = (name: string) => `${join(root, name)}/`;
  return {
    standardFontDataUrl: folder('standard_fonts'),
    cMapUrl: folder('cmaps'),
    wasmUrl: folder('wasm'),
    iccUrl: folder('iccs'),
  };
}

let folders: ReturnType<typeof pdfjsDataFolders> | undefined;

/** Loaded on first use: pdf.js is large, and only PDFs need it. */
export const loadPdfjs = () => import('pdfjs-dist/legacy/build/pdf.mjs');

/** Refusal codes for pdf.js's exceptions; anything else it throws is a corrupt file. */
function refusalOf(error: unknown): ProcessingRefused {
  if (error instanceof ProcessingRefused) return error;
  const name = (error as { name?: unknown })?.name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'PasswordException')
    return new ProcessingRefused('unsupported', 'the PDF is encrypted with a password');
  return new ProcessingRefused('corrupt', `not a readable PDF: ${message}`);
}

/**
 * Runs `use` on the opened document and always destroys it. Refuses a document of more pages than
 * limits.maxPdfPages (too_many_pages), an unreadable one (corrupt), an encrypted one (unsupported).
 */
export async function withPdfDocument<T>(
  bytes: Uint8Array,
  limits: ProcessingLimits,
  use: (document: PDFDocumentProxy) => Promise<T>,
): Promise<T> {
  const pdfjs = await loadPdfjs();
  folders ??= pdfjsDataFolders();
  const task = pdfjs.getDocument({
    // pdf.js takes the buffer over (detaches it): give it a copy.
    data: new Uint8Array(bytes),
    ...folders,
    cMapPacked: true,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    enableXfa: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    maxImageSize: limits.maxPixels,
    // A canvas pdf.js makes on its own (patterns, masks) stays within maxPixels RGBA pixels.
    canvasMaxAreaInBytes: limits.maxPixels * 4,
    stopAtErrors: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  let document: PDFDocumentProxy;
  try {
    document = await task.promise;
  } catch (error) {
    await task.destroy();
    throw refusalOf(error);
  }
  try {
    if (document.numPages > limits.maxPdfPages)
      throw new ProcessingRefused(
        'too_many_pages',
        `the PDF has ${document.numPages} pages, more than the ${limits.maxPdfPages} processing accepts`,
      );
    if (document.numPages < 1) throw new ProcessingRefused('corrupt', 'the PDF has no pages');
    return await use(document);
  } catch (error) {
    throw refusalOf(error);
  } finally {
    await task.destroy();
  }
}
