/**
 * What a file is, for processing: decided from its first bytes (magic numbers), with the declared
 * content type and the name consulted only for text, which has no magic number. A declared type is a
 * claim of the uploader and never trusted alone: bytes of a PDF declared image/png are a PDF, bytes of
 * no known format declared image/png are nothing (undefined), and binary bytes are never text.
 */

export type MediaKind = 'image' | 'pdf' | 'text' | 'markdown' | 'json';

/** Kinds with a preview image. */
export const PREVIEW_KINDS: ReadonlySet<MediaKind> = new Set<MediaKind>(['image', 'pdf']);
/** Kinds with text for the search index. */
export const TEXT_KINDS: ReadonlySet<MediaKind> = new Set<MediaKind>(['pdf', 'text', 'markdown', 'json']);

/** How many first bytes detectKind looks at; the pipeline reads at least this many. */
export const KIND_HEAD_BYTES = 4096;

/** The image formats this build decodes, as their magic numbers say (HEIC is not: see docs). */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif';

const startsWith = (head: Uint8Array, bytes: readonly number[], at = 0) =>
  head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The image format of these first bytes, or undefined. */
export function imageFormat(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return 'gif';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (isoBrands(head).some((brand) => brand === 'avif' || brand === 'avis')) return 'avif';
  return undefined;
}

/** The major and compatible brands of an ISO base media file's leading `ftyp` box (AVIF, HEIC, MP4). */
function isoBrands(head: Uint8Array): string[] {
  if (!startsWith(head, ascii('ftyp'), 4)) return [];
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const boxSize = Math.min(view.getUint32(0), head.length);
  const brands: string[] = [];
  for (let at = 8; at + 4 <= boxSize; at += at === 8 ? 8 : 4) {
    brands.push(String.fromCharCode(...head.subarray(at, at + 4)));
  }
  return brands;
}

/** `%PDF-` within the first 1024 bytes, where PDF readers look for it. */
export function hasPdfMarker(head: Uint8Array): boolean {
  const marker = ascii('%PDF-');
  const end = Math.min(head.length, 1024) - marker.length;
  for (let at = 0; at <= end; at++) if (startsWith(head, marker, at)) return true;
  return false;
}

const declaresPdf = (declared: string, name: string) =>
  baseType(declared) === 'application/pdf' || extension(name) === 'pdf';

/** UTF-8 without NUL bytes (a sequence cut by the end of the head is fine). */
export function looksLikeText(head: Uint8Array): boolean {
  if (head.includes(0)) return false;
  // Drop a multi-byte sequence that the end of the head may have cut.
  let end = head.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = head[end - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    if (byte >= 0xc0) end -= back;
    break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

const baseType = (declared: string) => declared.split(';')[0]?.trim().toLowerCase() ?? '';
const extension = (name: string) => {
  const last = name.split('/').pop() ?? '';
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(dot + 1).toLowerCase() : '';
};

const MARKDOWN_TYPES = new Set(['text/markdown', 'text/x-markdown']);
const MARKDOWN_EXTENSIONS = new Set(['md', 'markdown', 'mdown', 'mkd']);
const JSON_EXTENSIONS = new Set(['json', 'jsonld', 'geojson']);
const TEXT_EXTENSIONS = new Set(['txt', 'text', 'csv', 'tsv', 'log', 'ini', 'yaml', 'yml', 'toml']);
/** Declared types that say nothing: the name decides for text-like bytes. */
const UNSPECIFIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/** The text kind that the declared type (or, when it says nothing, the name) gives text bytes. */
function textKind(declared: string, name: string): MediaKind | undefined {
  const type = baseType(declared);
  const ext = extension(name);
  if (MARKDOWN_TYPES.has(type)) return 'markdown';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type.startsWith('text/')) {
    if (MARKDOWN_EXTENSIONS.has(ext)) return 'markdown';
    return 'text';
  }
  if (!UNSPECIFIC_TYPES.has(type)) return undefined;
  if (MARKDOWN_EXTENSIONS.has(ext)) return 'markdown';
  if (JSON_EXTENSIONS.has(ext)) return 'json';
  if (TEXT_EXTENSIONS.has(ext)) return 'text';
  return undefined;
}

/**
 * From the first bytes (magic numbers) and the declared content type. Never trusts the declared type
 * alone: a file declared image/png whose bytes are a PDF is a PDF; bytes nothing recognises → undefined.
 */
export function detectKind(head: Uint8Array, declaredType: string, name: string): MediaKind | undefined {
  if (startsWith(head, ascii('%PDF-'))) return 'pdf';
  if (imageFormat(head)) return 'image';
  // A PDF with bytes before its header (some mailers add them) only when it says it is a PDF: a note
  // that quotes `%PDF-` in its first lines stays a note.
  if (declaresPdf(declaredType, name) && hasPdfMarker(head)) return 'pdf';
  if (head.length === 0 || !looksLikeText(head)) return undefined;
  return textKind(declaredType, name);
}
