/** Domain events: subjects, kinds, filters, encoding; the Last-Event-ID parsing of the events endpoint. */
import { describe, expect, it } from 'vitest';
import { resumePoint } from '../../api/routes/events.ts';
import {
  decodeEvent,
  encodeEvent,
  eventSubject,
  matchesFilter,
  normalizePrefix,
  ownerSubjects,
  type PodEvent,
  parseKinds,
} from '../../protocol/events/event.ts';

const event = (over: Partial<PodEvent> = {}): PodEvent => ({
  id: '6f1c0d3e-0000-4000-8000-000000000000',
  time: '2026-01-01T00:00:00.000Z',
  kind: 'file.created',
  owner: 'alice',
  actor: 'hospital',
  path: 'medical/2026/lab.pdf',
  etag: 'abc',
  ...over,
});

describe('subjects', () => {
  it('puts the owner and the kind in the subject', () => {
    expect(eventSubject('alice', 'user.patched')).toBe('podstore.events.alice.user.patched');
    expect(ownerSubjects('alice')).toEqual(['podstore.events.alice.>']);
    expect(ownerSubjects('alice', ['file.created', 'file.deleted', 'file.created'])).toEqual([
      'podstore.events.alice.file.created',
      'podstore.events.alice.file.deleted',
    ]);
  });

  it('refuses an owner that is not a username (no subject injection)', () => {
    expect(() => eventSubject('a.b', 'user.created')).toThrow(/username/);
    expect(() => ownerSubjects('*')).toThrow(/username/);
    expect(() => ownerSubjects('alice.>')).toThrow(/username/);
  });
});

describe('parseKinds', () => {
  it('reads a comma list, trimming and dropping repeats', () => {
    expect(parseKinds(undefined)).toEqual([]);
    expect(parseKinds('')).toEqual([]);
    expect(parseKinds(' user.created, file.deleted ,user.created')).toEqual(['user.created', 'file.deleted']);
  });

  it('names an unknown kind', () => {
    expect(() => parseKinds('user.created,file.exploded')).toThrow(/unknown event kind "file.exploded"/);
  });
});

describe('matchesFilter', () => {
  it('matches everything without a filter', () => {
    expect(matchesFilter(event(), {})).toBe(true);
    expect(matchesFilter(event({ path: undefined, kind: 'user.patched' }), { prefix: '/' })).toBe(true);
  });

  it('filters by kind', () => {
    expect(matchesFilter(event(), { kinds: ['file.created'] })).toBe(true);
    expect(matchesFilter(event(), { kinds: ['file.deleted', 'user.patched'] })).toBe(false);
    expect(matchesFilter(event(), { kinds: [] })).toBe(true);
  });

  it('treats a prefix as a folder, however it is spelled', () => {
    for (const prefix of ['medical', 'medical/', '/medical/', 'medical/2026', 'medical/2026/lab.pdf']) {
      expect(matchesFilter(event(), { prefix })).toBe(true);
    }
    expect(matchesFilter(event(), { prefix: 'medic' })).toBe(false);
    expect(matchesFilter(event(), { prefix: 'medical/2025' })).toBe(false);
    expect(matchesFilter(event({ path: 'medical-old/x' }), { prefix: 'medical' })).toBe(false);
  });

  it('never matches a pathless event against a prefix', () => {
    expect(matchesFilter(event({ kind: 'user.patched', path: undefined }), { prefix: 'medical' })).toBe(
      false,
    );
  });

  it('applies kind and prefix together', () => {
    expect(matchesFilter(event(), { prefix: 'medical', kinds: ['file.created'] })).toBe(true);
    expect(matchesFilter(event(), { prefix: 'medical', kinds: ['file.deleted'] })).toBe(false);
  });

  it('normalises prefixes', () => {
    expect(normalizePrefix(undefined)).toBe('');
    expect(normalizePrefix('//a/b//')).toBe('a/b');
  });
});

describe('event encoding', () => {
  it('round-trips, omitting absent path and etag', () => {
    const deleted = event({ kind: 'user.deleted', path: undefined, etag: undefined, actor: null });
    expect(decodeEvent(encodeEvent(deleted))).toEqual(deleted);
    expect(Object.keys(decodeEvent(encodeEvent(deleted)))).not.toContain('path');
    expect(decodeEvent(encodeEvent(event()))).toEqual(event());
  });

  it('refuses what is not an event', () => {
    const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(() => decodeEvent(bytes(null))).toThrow(TypeError);
    expect(() => decodeEvent(bytes({ ...event(), kind: 'nope' }))).toThrow(TypeError);
    expect(() => decodeEvent(bytes({ ...event(), actor: 3 }))).toThrow(TypeError);
    expect(() => decodeEvent(new TextEncoder().encode('{'))).toThrow();
  });
});

describe('resumePoint (Last-Event-ID)', () => {
  it('prefers the header, then the query parameter', () => {
    expect(resumePoint(undefined, undefined)).toBeUndefined();
    expect(resumePoint('', undefined)).toBeUndefined();
    expect(resumePoint('41', '7')).toBe(41);
    expect(resumePoint(undefined, '7')).toBe(7);
    expect(resumePoint(['5', '6'], undefined)).toBe(5);
  });

  it('refuses an id that is not a sequence number', () => {
    expect(() => resumePoint('abc', undefined)).toThrow(/Last-Event-ID/);
    expect(() => resumePoint('-1', undefined)).toThrow(/Last-Event-ID/);
    expect(() => resumePoint(undefined, '1e9')).toThrow(/Last-Event-ID/);
  });
});
