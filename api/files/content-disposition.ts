/**
 * How a pod file is offered to a browser. podstore holds medical records written by other parties (a
 * hospital appending a result, a grantee uploading), so a file must never act in podstore's origin:
 * - inline only for types that cannot run anything: raster images, audio, video, text/plain, PDF, JSON;
 * - every other type (text/html, image/svg+xml, application/xhtml+xml, XML, JavaScript, CSS, unknown
 *   and application/octet-stream) as an attachment, so a browser saves it rather than renders it;
 * - `?download` on GET or HEAD asks for an attachment whatever the type.
 * The filename is the path's last segment, as an RFC 6266 quoted ASCII fallback and an RFC 8187
 * (formerly 5987) UTF-8 `filename*`.
 */

const INLINE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'text/plain',
  'application/pdf',
  'application/json',
]);
const INLINE_FAMILIES = ['audio/', 'video/'];

/** The media type without parameters, lower-case. */
export function essenceOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Whether a browser may show a file of this type inline: nothing of it can run. */
export function isPassiveType(contentType: string): boolean {
  const essence = essenceOf(contentType);
  return INLINE_TYPES.has(essence) || INLINE_FAMILIES.some((family) => essence.startsWith(family));
}

/** RFC 8187 attr-chars stay; every other byte of the UTF-8 name is percent-encoded. */
function extValue(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A quoted-string fallback of printable ASCII only, without `"`, `\` or `%` (which some browsers decode). */
function asciiFallback(name: string): string {
  const ascii = [...name].map((c) => (/^[\x20-\x7e]$/.test(c) && !/["\\%]/.test(c) ? c : '_')).join('');
  return ascii.trim() === '' ? 'file' : ascii;
}

/** The Content-Disposition of a file body. */
export function contentDisposition(path: string, contentType: string, download: boolean): string {
  const name = path.split('/').pop() || 'file';
  const kind = download || !isPassiveType(contentType) ? 'attachment' : 'inline';
  return `${kind}; filename="${asciiFallback(name)}"; filename*=UTF-8''${extValue(name)}`;
}
