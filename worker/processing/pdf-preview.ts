/**
 * The preview of a PDF: its first page, rendered by pdf.js into a @napi-rs/canvas whose longest side
 * is the largest preview size (never bigger, whatever size the page claims), whose pixels sharp makes
 * into WebP previews.
 */
import { createCanvas } from '@napi-rs/canvas';
import type { PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { rgbaPreviews } from './image-preview.ts';
import { withPdfDocument } from './pdf-document.ts';
import { type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';

type RenderParameters = Parameters<PDFPageProxy['render']>[0];

export async function pdfPreviews(
  bytes: Uint8Array,
  sizes: readonly number[],
  limits: ProcessingLimits,
): Promise<Map<number, Buffer>> {
  if (sizes.length === 0) return new Map();
  const largest = Math.max(...sizes);
  const page = await withPdfDocument(bytes, limits, async (document) => {
    const first = await document.getPage(1);
    try {
      const natural = first.getViewport({ scale: 1 });
      const longest = Math.max(natural.width, natural.height);
      if (!(Number.isFinite(longest) && longest > 0))
        throw new ProcessingRefused('corrupt', 'the first page of the PDF has no size');
      const viewport = first.getViewport({ scale: largest / longest });
      const width = Math.max(1, Math.min(largest, Math.round(viewport.width)));
      const height = Math.max(1, Math.min(largest, Math.round(viewport.height)));
      const canvas = createCanvas(width, height);
      const context = canvas.getContext('2d');
      // A page is drawn on white paper; transparent previews would show the page as black in some viewers.
      context.fillStyle = '#ffffff';
      context.fillRect(0, 0, width, height);
      await first.render({
        // pdf.js types its context as the DOM's; @napi-rs/canvas implements the same drawing API.
        canvasContext: context as unknown as RenderParameters['canvasContext'],
        canvas: canvas as unknown as RenderParameters['canvas'],
        viewport,
      }).promise;
      return { pixels: Buffer.from(canvas.data()), width, height };
    } finally {
      first.cleanup();
    }
  });
  return rgbaPreviews(page.pixels, page.width, page.height, sizes, limits);
}
