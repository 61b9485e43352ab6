import { describe, expect, it } from 'vitest';
import {
  hasProcessedPreview,
  MAX_PENDING_RETRIES,
  MAX_RETRY_MS,
  MIN_RETRY_MS,
  pendingRetryDelayMs,
  processingReasonText,
} from '../src/processed-preview.ts';

describe('which files the console asks the server to preview', () => {
  it('raster images and PDFs, whatever the parameters or case of the type', () => {
    for (const type of ['image/png', 'IMAGE/JPEG', 'image/webp; q=1', 'image/heic', 'application/pdf'])
      expect(hasProcessedPreview(type), type).toBe(true);
  });

  it('nothing else: text, markup, SVG, unknown bytes, no type', () => {
    for (const type of ['text/plain', 'text/html', 'image/svg+xml', 'application/octet-stream', ''])
      expect(hasProcessedPreview(type), type).toBe(false);
    expect(hasProcessedPreview(undefined)).toBe(false);
  });
});

describe('how long the console waits for a preview still being made', () => {
  it('follows Retry-After, waiting longer on each attempt', () => {
    expect(pendingRetryDelayMs('2', 1)).toBe(2_000);
    expect(pendingRetryDelayMs('2', 2)).toBe(4_000);
    expect(pendingRetryDelayMs('3', 3)).toBe(9_000);
  });

  it('stays within bounds whatever the server says', () => {
    expect(pendingRetryDelayMs('0', 1)).toBe(MIN_RETRY_MS);
    expect(pendingRetryDelayMs('999999', 1)).toBe(MAX_RETRY_MS);
    // Absent, a date, negative or garbage: the default of 2 s.
    for (const header of [null, 'Wed, 21 Oct 2026 07:28:00 GMT', '-5', '1e9', 'soon'])
      expect(pendingRetryDelayMs(header, 1), String(header)).toBe(2_000);
  });

  it('gives up after a few attempts', () => {
    expect(pendingRetryDelayMs('2', MAX_PENDING_RETRIES)).toBeDefined();
    expect(pendingRetryDelayMs('2', MAX_PENDING_RETRIES + 1)).toBeUndefined();
    expect(pendingRetryDelayMs('2', 0)).toBeUndefined();
    expect(MAX_PENDING_RETRIES).toBeLessThanOrEqual(10);
  });
});

describe('why processing failed, in words', () => {
  it('explains the known reasons and shows an unknown one as it is', () => {
    expect(processingReasonText('too_many_pixels')).toMatch(/pixels/);
    expect(processingReasonText('too_many_pages')).toMatch(/pages/);
    expect(processingReasonText('something_new')).toBe('something_new');
    expect(processingReasonText(undefined)).toBe('no reason given');
    // Not a lookup into the object's prototype.
    expect(processingReasonText('toString')).toBe('toString');
  });
});
