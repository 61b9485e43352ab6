/**
 * The tus 1.0 protocol's headers (https://tus.io/protocols/resumable-upload): reading what a client
 * sends, writing what it expects back. Pure functions; the routes are in api/routes/uploads.ts.
 */
import { filePathProblem } from '../../protocol/names.ts';
import { uploadMediaType } from '../files/media-type.ts';
import { HttpProblem } from '../problem.ts';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,termination,expiration,checksum';
export const TUS_CHECKSUM_ALGORITHMS = 'sha1,sha256,sha512,md5';
export const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';
/** The most Upload-Metadata pairs, and bytes of that header, a creation may send. */
const MAX_METADATA_PAIRS = 32;
const MAX_METADATA_BYTES = 8 * 1024;

/** A non-negative integer header (Upload-Length, Upload-Offset); 400 when absent or malformed. */
export function byteCountHeader(value: string | string[] | undefined, name: string): number {
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text === undefined || !/^\d{1,16}$/.test(text.trim()))
    throw new HttpProblem(400, `${name} must be a whole number of bytes`);
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n)) throw new HttpProblem(400, `${name} is too large`);
  return n;
}

/** Upload-Metadata: `key base64value` pairs separated by commas (a key alone has an empty value). */
export function parseMetadata(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (header === undefined || header.trim() === '') return out;
  if (Buffer.byteLength(header) > MAX_METADATA_BYTES)
    throw new HttpProblem(400, `Upload-Metadata is at most ${MAX_METADATA_BYTES} bytes`);
  const pairs = header.split(',');
  if (pairs.length > MAX_METADATA_PAIRS)
    throw new HttpProblem(400, `Upload-Metadata has at most ${MAX_METADATA_PAIRS} pairs`);
  for (const pair of pairs) {
    const [key = '', value, ...rest] = pair.trim().split(' ');
    if (!/^[!-+\--~]+$/.test(key) || rest.length > 0 || Object.hasOwn(out, key))
      throw new HttpProblem(
        400,
        'Upload-Metadata must be comma-separated "key base64value" pairs, each key once',
      );
    if (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
      throw new HttpProblem(400, `the Upload-Metadata value of ${key} is not base64`);
    out[key] = value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

/** The metadata again as the header (HEAD gives it back). */
export function formatMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => (value === '' ? key : `${key} ${Buffer.from(value, 'utf8').toString('base64')}`))
    .join(',');
}

/**
 * Where in the pod the file goes, and its media type, from the metadata: `path` (or else `filename`,
 * `name`: a file at the pod's root), and `filetype` (or `contentType`, `type`), as tus clients name them.
 */
export function targetOf(metadata: Record<string, string>): { path: string; contentType: string } {
  const given = metadata.path ?? metadata.filename ?? metadata.name;
  if (given === undefined)
    throw new HttpProblem(400, 'Upload-Metadata must name the file: path (or filename) in the pod');
  const path = given.replace(/^\/+/, '');
  const problem = filePathProblem(path);
  if (problem !== undefined) throw new HttpProblem(400, `the upload's path: ${problem}`);
  return { path, contentType: uploadMediaType(metadata.filetype ?? metadata.contentType ?? metadata.type) };
}

/** Upload-Checksum: `<algorithm> <base64 digest>`. */
export function parseChecksum(header: string | undefined): { algorithm: string; digest: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (match === null) throw new HttpProblem(400, 'Upload-Checksum must be "<algorithm> <base64 digest>"');
  const algorithm = match[1] as string;
  if (!TUS_CHECKSUM_ALGORITHMS.split(',').includes(algorithm))
    throw new HttpProblem(400, `Upload-Checksum's algorithm is one of ${TUS_CHECKSUM_ALGORITHMS}`);
  return { algorithm, digest: match[2] as string };
}

/** Every tus request but OPTIONS names the version; another version is 412 with the one spoken here. */
export function checkTusResumable(header: string | string[] | undefined): void {
  if (header !== TUS_VERSION)
    throw new HttpProblem(
      412,
      `send Tus-Resumable: ${TUS_VERSION} (the only tus version served here)`,
      undefined,
      {
        'tus-version': TUS_VERSION,
      },
    );
}
