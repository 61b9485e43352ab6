/**
 * The IETF resumable-upload draft's fields (api/uploads/draft-headers.ts): Structured Field Booleans
 * and Integers read as RFC 9651 says (anything else ignored, as the draft requires), the length a
 * request declares, which requests of the upload resource speak the draft rather than tus, and the
 * problem documents with the draft's IANA types.
 */
import { describe, expect, it } from 'vitest';
import { HttpProblem, problem } from '../../api/problem.ts';
import {
  declaredLength,
  hasBody,
  INTEROP_VERSION,
  interopVersionOf,
  mismatchingOffset,
  parseSfBoolean,
  parseSfByteCount,
  speaksDraft,
  uploadLimit,
} from '../../api/uploads/draft-headers.ts';

describe('resumable upload draft fields', () => {
  it('reads Upload-Complete as a Structured Field Boolean, ignoring anything else', () => {
    expect(parseSfBoolean('?1')).toBe(true);
    expect(parseSfBoolean('?0')).toBe(false);
    expect(parseSfBoolean(' ?1 ')).toBe(true);
    expect(parseSfBoolean('?1;a=1;b')).toBe(true);
    for (const odd of ['1', 'true', '?', '?2', '?10', '"?1"', '?1, ?0', '', 'yes', '?1;'])
      expect(parseSfBoolean(odd), odd).toBeUndefined();
    expect(parseSfBoolean(undefined)).toBeUndefined();
    expect(parseSfBoolean(['?1', '?1'])).toBeUndefined();
  });

  it('reads Upload-Offset and Upload-Length as non-negative Integers of at most 15 digits', () => {
    expect(parseSfByteCount('0')).toBe(0);
    expect(parseSfByteCount('41943040')).toBe(41_943_040);
    expect(parseSfByteCount('999999999999999')).toBe(999_999_999_999_999);
    expect(parseSfByteCount('12;x=1')).toBe(12);
    for (const odd of ['-1', '1.5', '1e3', '0x10', '1000000000000000', ' ', 'abc', '1,2', '+1'])
      expect(parseSfByteCount(odd), odd).toBeUndefined();
  });

  it('reads the interop version; 8 is draft 11', () => {
    expect(INTEROP_VERSION).toBe(8);
    expect(interopVersionOf({ 'upload-draft-interop-version': '8' })).toBe(8);
    expect(interopVersionOf({ 'upload-draft-interop-version': '7' })).toBe(7);
    expect(interopVersionOf({})).toBeUndefined();
  });

  it('takes the length from Upload-Length, or the offset plus Content-Length when the body completes the upload', () => {
    expect(declaredLength({ 'upload-length': '100' }, 0, false)).toBe(100);
    expect(declaredLength({ 'content-length': '40' }, 0, true)).toBe(40);
    expect(declaredLength({ 'content-length': '40' }, 60, true)).toBe(100);
    expect(declaredLength({ 'content-length': '40' }, 0, false)).toBeUndefined();
    expect(declaredLength({}, 0, true)).toBeUndefined();
    expect(declaredLength({ 'upload-length': '100', 'content-length': '100' }, 0, true)).toBe(100);
    const inconsistent = (headers: Record<string, string>, offset: number, complete: boolean) => {
      try {
        declaredLength(headers, offset, complete);
      } catch (error) {
        return error instanceof HttpProblem ? [error.status, error.foreign?.type] : error;
      }
      return 'accepted';
    };
    const type = 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length';
    expect(inconsistent({ 'upload-length': '100', 'content-length': '90' }, 0, true)).toEqual([400, type]);
    expect(inconsistent({ 'upload-length': '100', 'content-length': '90' }, 20, false)).toEqual([400, type]);
    // A malformed Upload-Length is ignored (the draft), not refused.
    expect(declaredLength({ 'upload-length': 'lots', 'content-length': '5' }, 0, true)).toBe(5);
  });

  it('tells a body from none', () => {
    expect(hasBody({ 'content-length': '0' })).toBe(false);
    expect(hasBody({ 'content-length': '3' })).toBe(true);
    expect(hasBody({ 'transfer-encoding': 'chunked' })).toBe(true);
    expect(hasBody({})).toBe(false);
  });

  it('sends requests with Tus-Resumable to tus, and those naming the draft to the draft', () => {
    expect(speaksDraft('HEAD', { 'tus-resumable': '1.0.0' })).toBe(false);
    expect(speaksDraft('HEAD', { 'tus-resumable': '1.0.0', 'upload-draft-interop-version': '8' })).toBe(
      false,
    );
    expect(speaksDraft('HEAD', { 'upload-draft-interop-version': '8' })).toBe(true);
    expect(speaksDraft('PATCH', { 'content-type': 'application/partial-upload' })).toBe(true);
    expect(speaksDraft('PATCH', { 'content-type': 'Application/Partial-Upload; x=1' })).toBe(true);
    expect(speaksDraft('PATCH', { 'content-type': 'application/offset+octet-stream' })).toBe(false);
    // Neither: tus, which answers 412 without its version, as before.
    expect(speaksDraft('HEAD', {})).toBe(false);
    expect(speaksDraft('DELETE', {})).toBe(false);
  });

  it('states the limits as a Dictionary', () => {
    expect(uploadLimit(1024)).toBe('max-size=1024');
    expect(uploadLimit(1024, new Date(61_500).toISOString(), 1_000)).toBe('max-size=1024, max-age=60');
    expect(uploadLimit(1024, new Date(0).toISOString(), 1_000)).toBe('max-size=1024, max-age=0');
  });

  it('answers a wrong offset with the draft problem type and both offsets', () => {
    const error = mismatchingOffset(12_500_000, 25_000_000);
    expect([error.status, error.code, error.headers]).toEqual([
      409,
      'conflict',
      { 'upload-offset': '12500000', 'upload-complete': '?0' },
    ]);
    expect(problem(error.status, error.message, error.code, error.foreign)).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset',
      title: 'Conflict',
      status: 409,
      detail: error.message,
      code: 'conflict',
      'expected-offset': 12_500_000,
      'provided-offset': 25_000_000,
    });
  });
});
