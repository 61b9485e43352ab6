/** assertValidKey (the key rules of the storage interface) and the adapters' shared key limits. */
import { describe, expect, it } from 'vitest';
import { assertValidKey, InvalidKeyError } from '../../worker/storage/object-store.ts';
import { assertStorableKey, compareKeys, prefixCanMatch } from '../../worker/storage/storable-key.ts';

describe('assertValidKey', () => {
  it.each([
    'a',
    'a/b',
    'users/alice/profile.json',
    '.hidden',
    '...',
    'a.b/c..d',
    'with space/and+plus',
    'ünïcødé/😀',
    '100%',
    'a'.repeat(2048),
  ])('accepts %j', (key) => {
    expect(() => assertValidKey(key)).not.toThrow();
  });

  it.each([
    ['', 'empty'],
    ['/a', 'leading slash'],
    ['a/', 'trailing slash (empty last segment)'],
    ['a//b', 'empty segment'],
    ['.', 'dot'],
    ['..', 'dot-dot'],
    ['a/./b', 'dot segment'],
    ['a/../b', 'dot-dot segment'],
    ['../a', 'leading dot-dot'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'newline'],
    ['a\u001fb', 'unit separator'],
    ['a\u007fb', 'DEL'],
    ['a'.repeat(2049), 'longer than 2048 bytes'],
    ['é'.repeat(1025), 'longer than 2048 bytes in UTF-8'],
  ])('rejects %j (%s)', (key) => {
    expect(() => assertValidKey(key)).toThrow(InvalidKeyError);
  });
});

describe('assertStorableKey', () => {
  it('accepts keys up to 1024 bytes with segments up to 255 bytes', () => {
    expect(() => assertStorableKey(`${'s'.repeat(255)}/${'t'.repeat(255)}`)).not.toThrow();
    expect(() => assertStorableKey(Array.from({ length: 4 }, () => 'x'.repeat(255)).join('/'))).not.toThrow();
  });

  it('rejects longer keys and segments, and everything assertValidKey rejects', () => {
    expect(() => assertStorableKey('s'.repeat(256))).toThrow(InvalidKeyError);
    expect(() => assertStorableKey('é'.repeat(128))).toThrow(InvalidKeyError);
    expect(() => assertStorableKey(`${'k/'.repeat(512)}k`)).toThrow(InvalidKeyError);
    expect(() => assertStorableKey('a//b')).toThrow(InvalidKeyError);
  });
});

describe('compareKeys', () => {
  it('orders by UTF-8 bytes, as S3 lists', () => {
    // UTF-16 order would put the emoji (a surrogate pair, 0xD83D...) before U+E000.
    expect(['😀', '\u{e000}', 'a/b', 'a-c', 'a'].sort(compareKeys)).toEqual([
      'a',
      'a-c',
      'a/b',
      '\u{e000}',
      '😀',
    ]);
  });
});

describe('prefixCanMatch', () => {
  it.each(['', 'a', 'a/', 'a/b', 'a/b/', '.', '..', 'a/.', 'a/..', 'users/alice/files/'])(
    '%j can match',
    (prefix) => {
      expect(prefixCanMatch(prefix)).toBe(true);
    },
  );

  it.each(['/', '/a', 'a//', '../', 'a/./', 'a/../b', 'x\u0000'])('%j cannot match', (prefix) => {
    expect(prefixCanMatch(prefix)).toBe(false);
  });
});
