/**
 * A file name from a `Slug` header (the AtomPub / Solid convention for POST): percent-decoded, unsafe
 * characters replaced, at most 100 bytes. Empty when nothing usable is left.
 */
export function nameFromSlug(slug: string | undefined): string {
  if (slug === undefined) return '';
  let text = slug;
  try {
    text = decodeURIComponent(slug);
  } catch {
    // not percent-encoded: use as is
  }
  const cleaned = text
    .normalize('NFC')
    .replace(/[\s/\\]+/g, '-')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are removed
    .replace(/[\u0000-\u001f\u007f<>:"|?*#%]/g, '')
    .replace(/^\.+/, '');
  return truncateBytes(cleaned, 100);
}

/** The longest prefix of `text` (whole code points) of at most `max` UTF-8 bytes. */
function truncateBytes(text: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > max) break;
    out += char;
  }
  return out;
}
