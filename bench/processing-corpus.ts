/**
 * The files of the file-processing benchmark, made in code (never downloaded), once before the runs:
 * a fixed mix of 1600×1200 JPEGs and PNGs with real content (a gradient, shapes and text, different in
 * every file) and 1–3 page PDFs with text. The same list (names, bytes) is uploaded in every run.
 */
import { PDFDocument, rgb, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';

export interface CorpusFile {
  name: string;
  contentType: string;
  bytes: Uint8Array;
}

export type CorpusKind = 'jpeg' | 'png' | 'pdf';

/** Out of every 10 files: 4 JPEGs, 3 PNGs, 3 PDFs. */
const MIX: CorpusKind[] = ['jpeg', 'pdf', 'png', 'jpeg', 'png', 'pdf', 'jpeg', 'png', 'pdf', 'jpeg'];

export const corpusKind = (i: number): CorpusKind => MIX[i % MIX.length] as CorpusKind;

/** How many of `count` files are of each kind. */
export function corpusMix(count: number): Record<CorpusKind, number> {
  const mix: Record<CorpusKind, number> = { jpeg: 0, png: 0, pdf: 0 };
  for (let i = 0; i < count; i++) mix[corpusKind(i)]++;
  return mix;
}

const WIDTH = 1600;
const HEIGHT = 1200;

let background: Buffer | undefined;

/** One gradient for every image (each file turns its hue and draws its own shapes over it). */
function gradient(): Buffer {
  if (background !== undefined) return background;
  background = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++)
    for (let x = 0; x < WIDTH; x++) {
      const at = (y * WIDTH + x) * 3;
      background[at] = (x * 255) / WIDTH;
      background[at + 1] = (y * 255) / HEIGHT;
      background[at + 2] = ((x + y) * 255) / (WIDTH + HEIGHT);
    }
  return background;
}

function shapes(i: number): Buffer {
  const circles = Array.from({ length: 12 }, (_, k) => {
    const cx = (i * 131 + k * 257) % WIDTH;
    const cy = (i * 71 + k * 163) % HEIGHT;
    const r = 40 + ((i + k * 29) % 160);
    const hue = (i * 17 + k * 41) % 360;
    return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="hsl(${hue},70%,50%)" fill-opacity="0.7"/>`;
  }).join('');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${circles}` +
      `<text x="80" y="160" font-size="96" font-family="sans-serif" fill="white">scan ${i}</text></svg>`,
  );
}

async function image(i: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const picture = sharp(gradient(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .modulate({ hue: (i * 37) % 360 })
    .composite([{ input: shapes(i) }]);
  return format === 'jpeg' ? picture.jpeg({ quality: 85 }).toBuffer() : picture.png().toBuffer();
}

async function pdf(i: number): Promise<Uint8Array> {
  const document = await PDFDocument.create();
  const font = await document.embedFont(StandardFonts.Helvetica);
  const pages = 1 + (i % 3);
  for (let n = 1; n <= pages; n++) {
    const page = document.addPage([612, 792]);
    page.drawText(`Lab report ${i}, page ${n} of ${pages}`, { x: 50, y: 720, size: 20, font });
    for (let line = 0; line < 30; line++) {
      const value = ((i * 7919 + n * 104729 + line * 31) % 1000) / 10;
      page.drawText(`measurement ${line + 1}: ${value} mmol/l, reference range 3.5 to 5.5`, {
        x: 50,
        y: 680 - line * 20,
        size: 11,
        font,
      });
    }
    page.drawRectangle({ x: 400, y: 60, width: 150, height: 40, color: rgb(0.2, 0.4, 0.8) });
  }
  return document.save();
}

export async function makeCorpusFile(i: number): Promise<CorpusFile> {
  const kind = corpusKind(i);
  const id = String(i).padStart(4, '0');
  if (kind === 'pdf')
    return { name: `report-${id}.pdf`, contentType: 'application/pdf', bytes: await pdf(i) };
  return {
    name: `scan-${id}.${kind === 'jpeg' ? 'jpg' : 'png'}`,
    contentType: `image/${kind}`,
    bytes: await image(i, kind),
  };
}

/** `count` files, a few made at once. */
export async function makeCorpus(count: number): Promise<CorpusFile[]> {
  const files: CorpusFile[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const i = next++;
        files[i] = await makeCorpusFile(i);
      }
    }),
  );
  return files;
}
