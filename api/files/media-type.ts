/**
 * The Content-Type of an upload. A file is any bytes, so the type is only a label, but it is served back
 * to browsers, so it must be a real media type (RFC 9110 §8.3.1: `type/subtype *(; name=value)`):
 * - absent or empty: the bytes are stored as `application/octet-stream` (RFC 9110 §8.3);
 * - well formed: stored normalised (type, subtype and parameter names lower-case, `; ` between parts);
 * - anything else (`;;;`, `text`, `a/b c`, a NUL, over 256 characters): 400, because the client said
 *   something and it cannot be stored as said; `application/octet-stream` is the answer for opaque bytes.
 */
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from '../problem.ts';

export const MAX_MEDIA_TYPE_LENGTH = 256;
export const OPAQUE = 'application/octet-stream';

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t\\x20-\\x7e])*"';
const ESSENCE = new RegExp(`^(${TOKEN})/(${TOKEN})$`);
const PARAMETER = new RegExp(`^(${TOKEN})=(${TOKEN}|${QUOTED})$`);

const refuse = (why: string) =>
  new HttpProblem(
    400,
    `the Content-Type ${why}; send a media type such as text/plain; charset=utf-8, or ${OPAQUE} for any bytes`,
  );

/** Splits on `;` outside quoted strings. */
function splitParameters(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted && c === '\\') {
      current += c + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/** The media type to store for an upload's Content-Type header; throws a 400 HttpProblem if malformed. */
export function uploadMediaType(header: string | undefined): string {
  const raw = (header ?? '').trim();
  if (raw === '') return OPAQUE;
  if (raw.length > MAX_MEDIA_TYPE_LENGTH) throw refuse(`is over ${MAX_MEDIA_TYPE_LENGTH} characters`);
  const [essence = '', ...rest] = splitParameters(raw);
  const match = ESSENCE.exec(essence.trim());
  if (match === null) throw refuse('is not of the form type/subtype');
  const parameters: string[] = [];
  for (const part of rest) {
    const parameter = part.trim();
    if (parameter === '') continue; // RFC 9110 allows empty parameters (`text/plain;`)
    const kv = PARAMETER.exec(parameter);
    if (kv === null) throw refuse('has a parameter that is not name=value');
    parameters.push(`${(kv[1] as string).toLowerCase()}=${kv[2]}`);
  }
  return [`${(match[1] as string).toLowerCase()}/${(match[2] as string).toLowerCase()}`, ...parameters].join(
    '; ',
  );
}

/**
 * onRequest hook of the file routes: an upload's (PUT, POST) Content-Type is checked and normalised
 * before the framework reads the body (which would answer 415 for a type it cannot parse), and an empty
 * one is dropped, so the body is read as the opaque bytes it is.
 */
export async function normaliseUploadMediaType(request: FastifyRequest): Promise<void> {
  if (request.method !== 'PUT' && request.method !== 'POST') return;
  const header = request.headers['content-type'];
  const type = uploadMediaType(header);
  if (header === undefined || header.trim() === '') delete request.headers['content-type'];
  else request.headers['content-type'] = type;
}
