/**
 * The Idempotency-Key request header (IETF httpapi draft): a Structured Field String, e.g.
 * `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`. A bare token (no quotes) is accepted too,
 * as many clients send one. 1 to 255 visible ASCII characters; anything else is a 400.
 */
import { HttpProblem } from '../problem.ts';

const MAX_LENGTH = 255;

/**
 * The key, undefined when the header is absent; throws a 400 HttpProblem when it is malformed or sent
 * more than once. Pass the header's distinct values (`request.raw.headersDistinct`): Node joins repeated
 * headers with ", ", which would turn two keys into one.
 */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header) && header.length !== 1) throw bad('send one Idempotency-Key header');
  const raw = (Array.isArray(header) ? (header[0] as string) : header).trim();
  let key = raw;
  if (raw.startsWith('"')) {
    // sf-string: "..." with \" and \\ as the only escapes
    if (raw.length < 2 || !raw.endsWith('"')) throw bad('an Idempotency-Key string needs its closing quote');
    key = '';
    for (let i = 1; i < raw.length - 1; i++) {
      const c = raw[i] as string;
      if (c === '\\') {
        const next = raw[i + 1];
        if (next !== '"' && next !== '\\')
          throw bad('in an Idempotency-Key string, \\ escapes only " and \\');
        key += next;
        i++;
      } else if (c === '"') {
        throw bad('an Idempotency-Key string has an unescaped quote');
      } else {
        key += c;
      }
    }
  }
  if (key.length === 0 || key.length > MAX_LENGTH || !/^[\x20-\x7e]+$/.test(key)) {
    throw bad(`an Idempotency-Key is 1 to ${MAX_LENGTH} visible ASCII characters`);
  }
  return key;
}

const bad = (detail: string) => new HttpProblem(400, detail);
