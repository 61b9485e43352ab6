/**
 * The headers of the IETF "Resumable Uploads for HTTP" draft (httpbis), as implemented here:
 * draft-ietf-httpbis-resumable-upload-11 (March 2026; interop version 8), https://datatracker.ietf.org/doc/draft-ietf-httpbis-resumable-upload/
 * Pure functions: reading what a client sends, writing what it expects back. The routes are in
 * api/routes/uploads.ts (the upload resource) and api/routes/files.ts (creation by a PUT).
 *
 * Upload-Offset, Upload-Length: Structured Field Items, a non-negative Integer (RFC 9651 §3.3.1).
 * Upload-Complete: a Structured Field Item, a Boolean (`?1` / `?0`, RFC 9651 §3.3.6).
 * The draft says any other value makes the whole field ignored (as if absent): so these parsers answer
 * `undefined` rather than throwing, and the routes decide what an absent field means.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HttpProblem } from '../problem.ts';

export const DRAFT_NAME = 'draft-ietf-httpbis-resumable-upload-11';
/** Upload-Draft-Interop-Version of draft 11 (§ "Draft Version Identification"). */
export const INTEROP_VERSION = 8;
export const INTEROP_HEADER = 'upload-draft-interop-version';
export const PARTIAL_UPLOAD = 'application/partial-upload';

/** The draft's problem types (registered by it with IANA). */
const IANA_PROBLEMS = 'https://iana.org/assignments/http-problem-types#';
export const MISMATCHING_OFFSET = `${IANA_PROBLEMS}mismatching-upload-offset`;
export const COMPLETED_UPLOAD = `${IANA_PROBLEMS}completed-upload`;
export const INCONSISTENT_LENGTH = `${IANA_PROBLEMS}inconsistent-upload-length`;
export const DRAFT_PROBLEM_TYPES = [MISMATCHING_OFFSET, COMPLETED_UPLOAD, INCONSISTENT_LENGTH] as const;

/** `;key` or `;key=value` parameters after an Item (RFC 9651 §3.1.2): accepted and not used. */
const PARAMETERS = String.raw`(?:;[ ]*[a-z*][a-z0-9_.*-]*(?:=(?:"(?:[^"\\]|\\.)*"|[^;"]+))?)*`;
const BOOLEAN = new RegExp(`^\\?([01])${PARAMETERS}$`);
/** An Integer has at most 15 digits (RFC 9651 §3.3.1); a negative one is no byte count. */
const INTEGER = new RegExp(`^(\\d{1,15})${PARAMETERS}$`);

/** One field line's value; a field sent twice (joined by Node with ", ") is no single Item. */
function itemText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** A Structured Field Boolean Item: true for `?1`, false for `?0`, undefined when absent or anything else. */
export function parseSfBoolean(value: string | string[] | undefined): boolean | undefined {
  const text = itemText(value);
  if (text === undefined) return undefined;
  const match = BOOLEAN.exec(text);
  return match === null ? undefined : match[1] === '1';
}

/** A Structured Field non-negative Integer Item; undefined when absent, negative, fractional or malformed. */
export function parseSfByteCount(value: string | string[] | undefined): number | undefined {
  const text = itemText(value);
  if (text === undefined) return undefined;
  const match = INTEGER.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** Upload-Draft-Interop-Version as a number, undefined when absent or not an Integer. */
export function interopVersionOf(headers: IncomingHttpHeaders): number | undefined {
  return parseSfByteCount(headers[INTEROP_HEADER]);
}

/** A boolean as the draft's field value. */
export const sfBoolean = (value: boolean): string => (value ? '?1' : '?0');

/** Upload-Limit: a Dictionary (RFC 9651 §3.2) of the limits that apply: the largest file, the time left. */
export function uploadLimit(maxSize: number, expiresAt?: string, now = Date.now()): string {
  const parts = [`max-size=${maxSize}`];
  if (expiresAt !== undefined) {
    const left = Math.floor((Date.parse(expiresAt) - now) / 1000);
    if (Number.isFinite(left)) parts.push(`max-age=${Math.max(0, left)}`);
  }
  return parts.join(', ');
}

/**
 * Whether a request to the upload resource speaks the draft rather than tus: it has no Tus-Resumable,
 * and either names a draft interop version or is a PATCH of application/partial-upload. Anything else
 * is tus, answered exactly as before (a HEAD with neither header stays tus's 412).
 */
export function speaksDraft(method: string, headers: IncomingHttpHeaders): boolean {
  if (headers['tus-resumable'] !== undefined) return false;
  if (headers[INTEROP_HEADER] !== undefined) return true;
  return method === 'PATCH' && mediaTypeOf(headers['content-type']) === PARTIAL_UPLOAD;
}

export function mediaTypeOf(value: string | undefined): string | undefined {
  return value?.split(';')[0]?.trim().toLowerCase();
}

/**
 * The length of the whole representation a creation or an append declares (draft §"Length"): its
 * Upload-Length, or, with Upload-Complete: ?1, the offset plus its Content-Length. Both given and
 * different: 400 inconsistent-upload-length. Neither: undefined.
 */
export function declaredLength(
  headers: IncomingHttpHeaders,
  offset: number,
  complete: boolean,
): number | undefined {
  const uploadLength = parseSfByteCount(headers['upload-length']);
  const contentLength = contentLengthOf(headers);
  const fromContent = complete && contentLength !== undefined ? offset + contentLength : undefined;
  if (uploadLength !== undefined && fromContent !== undefined && uploadLength !== fromContent)
    throw inconsistentLength(
      `Upload-Length (${uploadLength}) is not where this body ends (byte ${fromContent}) although Upload-Complete is ?1`,
    );
  if (uploadLength !== undefined && contentLength !== undefined && offset + contentLength > uploadLength)
    throw inconsistentLength(`this body goes past Upload-Length (${uploadLength})`);
  return uploadLength ?? fromContent;
}

/** Content-Length as a number (Node has already refused a malformed one). */
export function contentLengthOf(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Whether the request has a body at all (a Content-Length above 0, or a chunked one). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = contentLengthOf(headers);
  if (length !== undefined) return length > 0;
  return headers['transfer-encoding'] !== undefined;
}

export function inconsistentLength(detail: string, headers: Record<string, string> = {}): HttpProblem {
  return new HttpProblem(400, detail, undefined, headers, 'invalid', {
    type: INCONSISTENT_LENGTH,
  });
}

export function completedUpload(detail: string, headers: Record<string, string> = {}): HttpProblem {
  return new HttpProblem(400, detail, undefined, headers, 'invalid', { type: COMPLETED_UPLOAD });
}

export function mismatchingOffset(expected: number, provided: number): HttpProblem {
  return new HttpProblem(
    409,
    `the upload is at byte ${expected}, not ${provided}; ask with HEAD and go on from there`,
    undefined,
    { 'upload-offset': String(expected), 'upload-complete': '?0' },
    'conflict',
    { type: MISMATCHING_OFFSET, members: { 'expected-offset': expected, 'provided-offset': provided } },
  );
}
