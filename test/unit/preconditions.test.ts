/** RFC 9110 §13 conditional requests, evaluated by protocol/preconditions.ts. */
import { describe, expect, it } from 'vitest';
import {
  asksAboutState,
  conditionalHeaderProblem,
  evaluatePreconditions,
  ifRangeHolds,
  parseHttpDate,
  parseTagList,
  type Validators,
} from '../../protocol/preconditions.ts';

const current: Validators = {
  etag: 'abc.2',
  lastModified: new Date('2026-03-01T10:00:05.250Z'),
  lastModifiedStrong: true,
};
const LAST_MODIFIED = 'Sun, 01 Mar 2026 10:00:05 GMT';
const EARLIER = 'Sun, 01 Mar 2026 10:00:04 GMT';
const LATER = 'Sun, 01 Mar 2026 10:00:06 GMT';

describe('entity-tag lists', () => {
  it('parses *, strong and weak tags, empty elements and bare legacy tokens', () => {
    expect(parseTagList(' * ')).toBe('*');
    // A comma inside a tag is legal but never in our tags; such a list is refused rather than misread.
    expect(parseTagList('"a", "c,d"')).toBeUndefined();
    expect(parseTagList('"a", W/"b" ,,"c"')).toEqual([
      { weak: false, opaque: 'a' },
      { weak: true, opaque: 'b' },
      { weak: false, opaque: 'c' },
    ]);
    expect(parseTagList('abc.2')).toEqual([{ weak: false, opaque: 'abc.2' }]);
    expect(parseTagList('""')).toEqual([{ weak: false, opaque: '' }]);
  });

  it('refuses what is not a list of tags', () => {
    for (const bad of ['', ' , ', '"unterminated', 'W/abc', '"a" "b"', '*, "a"', 'a b', '"a\u0001"']) {
      expect([bad, parseTagList(bad)]).toEqual([bad, undefined]);
    }
    expect(conditionalHeaderProblem({ ifMatch: '"a" "b"' })).toMatch(/if-match/);
    expect(conditionalHeaderProblem({ ifNoneMatch: 'W/x' })).toMatch(/if-none-match/);
    expect(conditionalHeaderProblem({ ifMatch: '"a", "b"', ifNoneMatch: '*' })).toBeUndefined();
  });
});

describe('HTTP dates', () => {
  it('reads the three forms of RFC 9110 §5.6.7, all as GMT', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(expected);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(expected);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(expected);
  });

  it('refuses anything else', () => {
    for (const bad of [
      '2026-03-01T10:00:05Z',
      'Sun, 06 Nov 1994 08:49:37 +0000',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 25:49:37 GMT',
      'yesterday',
      '',
    ]) {
      expect([bad, parseHttpDate(bad)]).toEqual([bad, undefined]);
    }
  });
});

describe('If-Match', () => {
  it('checks every tag of a list, strongly', () => {
    expect(evaluatePreconditions('PUT', { ifMatch: '"x", "abc.2"' }, current)).toBe('proceed');
    expect(evaluatePreconditions('PUT', { ifMatch: '"x", "y"' }, current)).toBe('failed');
    expect(evaluatePreconditions('PUT', { ifMatch: 'W/"abc.2"' }, current)).toBe('failed');
    expect(evaluatePreconditions('DELETE', { ifMatch: '"abc.2"' }, current)).toBe('proceed');
  });

  it('* holds for any existing file and never for a missing one', () => {
    expect(evaluatePreconditions('PUT', { ifMatch: '*' }, current)).toBe('proceed');
    expect(evaluatePreconditions('PUT', { ifMatch: '*' }, undefined)).toBe('failed');
    expect(evaluatePreconditions('PUT', { ifMatch: '"abc.2"' }, undefined)).toBe('failed');
  });

  it('fails on GET too (412), and a malformed one fails', () => {
    expect(evaluatePreconditions('GET', { ifMatch: '"old"' }, current)).toBe('failed');
    expect(evaluatePreconditions('PATCH', { ifMatch: '"a" "b"' }, current)).toBe('failed');
  });
});

describe('If-None-Match', () => {
  it('compares weakly: 304 on GET and HEAD, 412 on changes', () => {
    expect(evaluatePreconditions('GET', { ifNoneMatch: 'W/"abc.2"' }, current)).toBe('not-modified');
    expect(evaluatePreconditions('HEAD', { ifNoneMatch: '"x", "abc.2"' }, current)).toBe('not-modified');
    expect(evaluatePreconditions('PUT', { ifNoneMatch: '"abc.2"' }, current)).toBe('failed');
    expect(evaluatePreconditions('PUT', { ifNoneMatch: 'W/"abc.2"' }, current)).toBe('failed');
    expect(evaluatePreconditions('DELETE', { ifNoneMatch: '"abc.2"' }, current)).toBe('failed');
    expect(evaluatePreconditions('PUT', { ifNoneMatch: '"abc.1"' }, current)).toBe('proceed');
    expect(evaluatePreconditions('GET', { ifNoneMatch: '"abc.1"' }, current)).toBe('proceed');
  });

  it('* fails for an existing file and holds for a missing one', () => {
    expect(evaluatePreconditions('PUT', { ifNoneMatch: '*' }, current)).toBe('failed');
    expect(evaluatePreconditions('PUT', { ifNoneMatch: '*' }, undefined)).toBe('proceed');
    expect(evaluatePreconditions('PUT', { ifNoneMatch: '"abc.2"' }, undefined)).toBe('proceed');
    expect(evaluatePreconditions('GET', { ifNoneMatch: '*' }, current)).toBe('not-modified');
  });
});

describe('dates', () => {
  it('If-Unmodified-Since fails when the file changed after the date, on any method', () => {
    expect(evaluatePreconditions('PUT', { ifUnmodifiedSince: EARLIER }, current)).toBe('failed');
    expect(evaluatePreconditions('DELETE', { ifUnmodifiedSince: EARLIER }, current)).toBe('failed');
    expect(evaluatePreconditions('PATCH', { ifUnmodifiedSince: LAST_MODIFIED }, current)).toBe('proceed');
    expect(evaluatePreconditions('PUT', { ifUnmodifiedSince: LATER }, current)).toBe('proceed');
    expect(evaluatePreconditions('GET', { ifUnmodifiedSince: EARLIER }, current)).toBe('failed');
  });

  it('If-Unmodified-Since is ignored when malformed, or for a missing file', () => {
    expect(evaluatePreconditions('PUT', { ifUnmodifiedSince: 'not a date' }, current)).toBe('proceed');
    expect(evaluatePreconditions('PUT', { ifUnmodifiedSince: EARLIER }, undefined)).toBe('proceed');
  });

  it('If-Modified-Since answers 304 on GET/HEAD when nothing changed after the date, and only there', () => {
    expect(evaluatePreconditions('GET', { ifModifiedSince: LAST_MODIFIED }, current)).toBe('not-modified');
    expect(evaluatePreconditions('HEAD', { ifModifiedSince: LATER }, current)).toBe('not-modified');
    expect(evaluatePreconditions('GET', { ifModifiedSince: EARLIER }, current)).toBe('proceed');
    expect(evaluatePreconditions('PUT', { ifModifiedSince: LATER }, current)).toBe('proceed');
    expect(evaluatePreconditions('GET', { ifModifiedSince: 'garbage' }, current)).toBe('proceed');
  });
});

describe('precedence (RFC 9110 §13.2.2)', () => {
  it('If-Match takes the place of If-Unmodified-Since', () => {
    expect(evaluatePreconditions('PUT', { ifMatch: '"abc.2"', ifUnmodifiedSince: EARLIER }, current)).toBe(
      'proceed',
    );
    expect(evaluatePreconditions('PUT', { ifMatch: '"x"', ifUnmodifiedSince: LATER }, current)).toBe(
      'failed',
    );
  });

  it('If-None-Match takes the place of If-Modified-Since', () => {
    expect(evaluatePreconditions('GET', { ifNoneMatch: '"x"', ifModifiedSince: LATER }, current)).toBe(
      'proceed',
    );
    expect(evaluatePreconditions('GET', { ifNoneMatch: '"abc.2"', ifModifiedSince: EARLIER }, current)).toBe(
      'not-modified',
    );
  });

  it('a failed If-Match or If-Unmodified-Since is 412 even when If-None-Match would give 304', () => {
    expect(evaluatePreconditions('GET', { ifMatch: '"x"', ifNoneMatch: '"abc.2"' }, current)).toBe('failed');
    expect(evaluatePreconditions('GET', { ifUnmodifiedSince: EARLIER, ifNoneMatch: '*' }, current)).toBe(
      'failed',
    );
  });
});

describe('If-Range', () => {
  it('holds for a strongly matching tag only', () => {
    expect(ifRangeHolds(undefined, current)).toBe(true);
    expect(ifRangeHolds('"abc.2"', current)).toBe(true);
    expect(ifRangeHolds('"abc.1"', current)).toBe(false);
    expect(ifRangeHolds('W/"abc.2"', current)).toBe(false);
  });

  it('holds for the exact Last-Modified date, when that is a strong validator', () => {
    expect(ifRangeHolds(LAST_MODIFIED, current)).toBe(true);
    expect(ifRangeHolds(EARLIER, current)).toBe(false);
    expect(ifRangeHolds(LATER, current)).toBe(false);
    expect(ifRangeHolds(LAST_MODIFIED, { ...current, lastModifiedStrong: false })).toBe(false);
  });

  it('is false for anything else', () => {
    for (const bad of ['abc.2', '*', 'garbage', '', '"abc.2", "x"'])
      expect([bad, ifRangeHolds(bad, current)]).toEqual([bad, false]);
  });
});

describe('which conditions ask about a file', () => {
  it('all but If-None-Match: * on PUT', () => {
    expect(asksAboutState('PUT', {})).toBe(false);
    expect(asksAboutState('PUT', { ifNoneMatch: ' * ' })).toBe(false);
    expect(asksAboutState('POST', { ifNoneMatch: '*' })).toBe(false);
    expect(asksAboutState('PUT', { ifNoneMatch: '"a"' })).toBe(true);
    expect(asksAboutState('DELETE', { ifNoneMatch: '*' })).toBe(true);
    expect(asksAboutState('PUT', { ifMatch: '"bogus"' })).toBe(true);
    expect(asksAboutState('DELETE', { ifUnmodifiedSince: EARLIER })).toBe(true);
    expect(asksAboutState('PATCH', { ifMatch: '*' })).toBe(true);
  });
});
