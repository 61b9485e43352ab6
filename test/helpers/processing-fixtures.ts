/** Files made in code for the processing tests: images (sharp), PDFs (pdf-lib), a decompression bomb. */
import { crc32, deflateSync } from 'node:zlib';
import {
  concatTransformationMatrix,
  drawObject,
  PDFDocument,
  popGraphicsState,
  pushGraphicsState,
  rgb,
  StandardFonts,
} from 'pdf-lib';
import sharp from 'sharp';

export type ImageFixtureFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

/** A width × height image with a gradient (so that encoders have real content) in `format`. */
export async function makeImage(format: ImageFixtureFormat, width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      pixels[at] = (x * 255) / width;
      pixels[at + 1] = (y * 255) / height;
      pixels[at + 2] = 128;
    }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A PNG of a few hundred bytes whose header claims width × height pixels (8-bit RGB), with the start
 * of the pixel data: a decoder that believes the header allocates width × height × 3 bytes.
 */
export function pngBomb(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  // Eight rows of zeros (filter byte 0 and black pixels): compresses to almost nothing.
  const rows = deflateSync(Buffer.alloc((width * 3 + 1) * 8));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', rows),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PDF of `pages` pages of `size` points; page n carries the text lines `text(n)` and a black box. */
export async function makePdf(
  pages: number,
  options: { size?: [number, number]; text?: (page: number) => string[] } = {},
): Promise<Uint8Array> {
  const document = await PDFDocument.create();
  const font = await document.embedFont(StandardFonts.Helvetica);
  const [width, height] = options.size ?? [612, 792];
  for (let n = 1; n <= pages; n++) {
    const page = document.addPage([width, height]);
    const lines = options.text?.(n) ?? [];
    lines.forEach((line, i) => {
      page.drawText(line, { x: 50, y: height - 80 - i * 20, size: 14, font });
    });
    if (options.text) page.drawRectangle({ x: 0, y: 0, width, height: height / 2, color: rgb(0, 0, 0) });
  }
  return document.save();
}

/**
 * A one-page PDF that draws an RGB image whose dictionary claims width × height pixels, with a few
 * compressed rows of data: a reader that believes it allocates width × height × 4 bytes to draw it.
 */
export async function pdfWithImageBomb(width: number, height: number): Promise<Uint8Array> {
  const document = await PDFDocument.create();
  const page = document.addPage([200, 200]);
  page.drawRectangle({ x: 0, y: 0, width: 100, height: 100, color: rgb(0, 0, 0) });
  const image = document.context.flateStream(new Uint8Array(width * 3 * 4), {
    Type: 'XObject',
    Subtype: 'Image',
    Width: width,
    Height: height,
    ColorSpace: 'DeviceRGB',
    BitsPerComponent: 8,
  });
  const name = page.node.newXObject('Im', document.context.register(image));
  page.pushOperators(
    pushGraphicsState(),
    concatTransformationMatrix(200, 0, 0, 200, 0, 0),
    drawObject(name),
    popGraphicsState(),
  );
  return document.save();
}

/** Random-looking pixels as a JPEG: expensive to decode and scale (for jobs that must take a while). */
export async function makeNoiseImage(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}
