/** Previews of images and PDFs: sizes, format, orientation, stripped metadata, and hostile input refused. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { makePreviews, PREVIEW_SIZES } from '../../worker/processing/make-preview.ts';
import {
  defaultLimits,
  type ProcessingLimits,
  ProcessingRefused,
} from '../../worker/processing/processing-limits.ts';
import { makeImage, makePdf, pngBomb } from '../helpers/processing-fixtures.ts';

async function refusal(promise: Promise<unknown>): Promise<ProcessingRefused> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProcessingRefused);
  return error as ProcessingRefused;
}

const limits = (overrides: Partial<ProcessingLimits>): ProcessingLimits => ({
  ...defaultLimits,
  ...overrides,
});

describe('makePreviews of images', () => {
  it.each(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const)(
    'makes WebP previews of %s',
    async (format) => {
      const image = await makeImage(format, 1200, 675);
      const previews = await makePreviews(image, 'image', PREVIEW_SIZES, defaultLimits);
      expect([...previews.keys()]).toEqual([256, 1024]);
      const small = await sharp(previews.get(256)).metadata();
      const large = await sharp(previews.get(1024)).metadata();
      expect([small.format, small.width, small.height]).toEqual(['webp', 256, 144]);
      expect([large.format, large.width, large.height]).toEqual(['webp', 1024, 576]);
    },
  );

  it('never enlarges a small image', async () => {
    const previews = await makePreviews(await makeImage('png', 100, 40), 'image', [256, 1024], defaultLimits);
    for (const preview of previews.values()) {
      const meta = await sharp(preview).metadata();
      expect([meta.width, meta.height]).toEqual([100, 40]);
    }
  });

  it('applies the EXIF orientation and strips EXIF (GPS), XMP and ICC from the preview', async () => {
    const photo = await sharp(await makeImage('jpeg', 400, 200))
      .withMetadata({ orientation: 6 })
      .withExifMerge({
        IFD0: { Make: 'Camera' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '48/1 51/1 30/1',
          GPSLongitudeRef: 'E',
          GPSLongitude: '2/1 17/1 40/1',
        },
      })
      .withIccProfile('p3')
      .toBuffer();
    const source = await sharp(photo).metadata();
    expect(source.orientation).toBe(6);
    expect(source.exif?.includes(Buffer.from('Camera'))).toBe(true);
    const preview = (await makePreviews(photo, 'image', [256], defaultLimits)).get(256);
    const meta = await sharp(preview).metadata();
    // Turned a quarter: 400 × 200 stands as 200 × 400, so 128 × 256.
    expect([meta.width, meta.height]).toEqual([128, 256]);
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(preview?.includes(Buffer.from('Camera'))).toBe(false);
  });

  it('takes the first frame of an animated GIF', async () => {
    // Two frames of 300 × 200: the first black, the second white.
    const raw = Buffer.alloc(300 * 400 * 3);
    raw.fill(255, 300 * 200 * 3);
    const frames = await sharp(raw, { raw: { width: 300, height: 400, channels: 3, pageHeight: 200 } })
      .gif()
      .toBuffer();
    expect((await sharp(frames).metadata()).pages).toBe(2);
    const preview = (await makePreviews(frames, 'image', [150], defaultLimits)).get(150);
    const meta = await sharp(preview).metadata();
    expect([meta.width, meta.height, meta.pages ?? 1]).toEqual([150, 100, 1]);
    expect((await sharp(preview).stats()).channels[0]?.mean).toBeLessThan(10);
  });
});

describe('makePreviews refuses hostile images', () => {
  it('refuses a decompression bomb from its header, quickly and without allocating its pixels', async () => {
    const bomb = pngBomb(30_000, 30_000);
    expect(bomb.length).toBeLessThan(2000);
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const error = await refusal(makePreviews(bomb, 'image', PREVIEW_SIZES, defaultLimits));
    expect(error.code).toBe('too_many_pixels');
    expect(performance.now() - started).toBeLessThan(2000);
    // 30,000² RGB pixels are 2.7 GB: nothing near that was allocated.
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses an image just above maxPixels and takes one at it', async () => {
    const image = await makeImage('png', 100, 50);
    expect((await refusal(makePreviews(image, 'image', [64], limits({ maxPixels: 4999 })))).code).toBe(
      'too_many_pixels',
    );
    expect((await makePreviews(image, 'image', [64], limits({ maxPixels: 5000 }))).size).toBe(1);
  });

  it('refuses bytes above maxInputBytes before decoding them', async () => {
    const image = await makeImage('png', 64, 64);
    const error = await refusal(
      makePreviews(image, 'image', [64], limits({ maxInputBytes: image.length - 1 })),
    );
    expect(error.code).toBe('too_large');
    // Not an image at all, yet too_large: the size is checked before anything reads the bytes.
    const big = new Uint8Array(1025);
    expect((await refusal(makePreviews(big, 'pdf', [64], limits({ maxInputBytes: 1024 })))).code).toBe(
      'too_large',
    );
  });

  it('refuses garbage declared as an image, a truncated JPEG and a broken PNG', async () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    expect((await refusal(makePreviews(garbage, 'image', [64], defaultLimits))).code).toBe('unsupported');
    const jpeg = await makeImage('jpeg', 512, 512);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    expect((await refusal(makePreviews(truncated, 'image', [64], defaultLimits))).code).toBe('corrupt');
    const png = await makeImage('png', 256, 256);
    const broken = Buffer.concat([png.subarray(0, 60), Buffer.alloc(200, 0xab), png.subarray(260)]);
    expect((await refusal(makePreviews(broken, 'image', [64], defaultLimits))).code).toBe('corrupt');
  });

  it('refuses empty bytes as an image or a PDF', async () => {
    expect((await refusal(makePreviews(new Uint8Array(0), 'image', [64], defaultLimits))).code).toBe(
      'corrupt',
    );
    expect((await refusal(makePreviews(new Uint8Array(0), 'pdf', [64], defaultLimits))).code).toBe('corrupt');
  });

  it('refuses formats it does not preview, such as SVG, even when called with kind image', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>');
    expect((await refusal(makePreviews(svg, 'image', [64], defaultLimits))).code).toBe('unsupported');
    expect((await refusal(makePreviews(svg, 'text', [64], defaultLimits))).code).toBe('unsupported');
  });
});

describe('makePreviews of PDFs', () => {
  it('renders the first page, within the size, on white', async () => {
    const pdf = await makePdf(3, { text: (n) => [`page ${n}`] });
    const previews = await makePreviews(pdf, 'pdf', PREVIEW_SIZES, defaultLimits);
    const small = await sharp(previews.get(256)).metadata();
    const large = await sharp(previews.get(1024)).metadata();
    // A Letter page, 612 × 792 points.
    expect([small.format, small.width, small.height]).toEqual(['webp', 198, 256]);
    expect([large.format, large.width, large.height]).toEqual(['webp', 791, 1024]);
    // The fixture's lower half is black, the upper white: the page was drawn, not left blank.
    const { channels } = await sharp(previews.get(256)).stats();
    expect(channels[0]?.min).toBeLessThan(20);
    expect(channels[0]?.max).toBeGreaterThan(235);
  });

  it('bounds the canvas whatever size the page claims', async () => {
    const pdf = await makePdf(1, { size: [14_400, 200], text: () => ['wide'] });
    const preview = (await makePreviews(pdf, 'pdf', [1024], defaultLimits)).get(1024);
    const meta = await sharp(preview).metadata();
    expect([meta.width, meta.height]).toEqual([1024, 14]);
  });

  it('refuses a PDF of more pages than maxPdfPages', async () => {
    const pdf = await makePdf(6);
    expect((await refusal(makePreviews(pdf, 'pdf', [64], limits({ maxPdfPages: 5 })))).code).toBe(
      'too_many_pages',
    );
    expect((await makePreviews(pdf, 'pdf', [64], limits({ maxPdfPages: 6 }))).size).toBe(1);
  });

  it('refuses a PDF of 2,001 pages with the default limits', async () => {
    const pdf = await makePdf(2001);
    expect((await refusal(makePreviews(pdf, 'pdf', [64], defaultLimits))).code).toBe('too_many_pages');
  });

  it('refuses what is not a PDF, and a PDF cut in half', async () => {
    const fake = new TextEncoder().encode('%PDF-1.7\nthis is not a PDF at all\n%%EOF\n');
    expect((await refusal(makePreviews(fake, 'pdf', [64], defaultLimits))).code).toBe('corrupt');
    const garbage = new Uint8Array(2048).map((_, i) => (i * 31) % 256);
    expect((await refusal(makePreviews(garbage, 'pdf', [64], defaultLimits))).code).toBe('corrupt');
  });
});
