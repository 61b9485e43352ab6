/**
 * Files for the processing tests, made in code (never downloaded): images of any size and format with
 * sharp, PDFs with pdf-lib, and hostile files (a decompression bomb, a PDF of many pages).
 */
import { crc32, deflateSync } from 'node:zlib';
import { PDFDocument, rgb, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff';

/** A picture with some structure (a gradient and a block), so encoders do real work. */
export async function makeImage(width: number, height: number, format: ImageFormat): Promise<Buffer> {
  const block = await sharp({
    create: {
      width: Math.max(1, Math.floor(width / 3)),
      height: Math.max(1, Math.floor(height / 3)),
      channels: 3,
      background: '#2060c0',
    },
  })
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#f0e0d0' } })
    .composite([{ input: block, top: Math.floor(height / 4), left: Math.floor(width / 4) }])
    .toFormat(format)
    .toBuffer();
}

/** Random pixels: expensive to encode and decode (for jobs that must take a while). */
export async function makeNoiseImage(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A PDF of `pages` pages; `text` on the first one. */
export async function makePdf(pages: number, text = ''): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 0; i < pages; i++) {
    const page = doc.addPage([300, 400]);
    if (i === 0) {
      page.drawRectangle({ x: 30, y: 250, width: 120, height: 80, color: rgb(0.8, 0.1, 0.1) });
      if (text !== '') page.drawText(text, { x: 20, y: 200, font, size: 12 });
    }
  }
  return Buffer.from(await doc.save());
}

const chunk = (type: string, data: Buffer) => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([head, body, crc]);
};

/**
 * A decompression bomb: a PNG of a few hundred bytes whose header says `side` × `side` pixels (a real
 * decoder would need side² × 3 bytes). Its pixel data is a stream of zeros that inflates to that size.
 */
export function makePngBomb(side = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const firstRows = deflateSync(Buffer.alloc((side * 3 + 1) * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', firstRows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
