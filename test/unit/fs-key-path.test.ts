/** The filesystem store's key-to-path naming: reversible, and a key never collides with a folder. */
import { describe, expect, it } from 'vitest';
import {
  decodeEntryName,
  folderToRelativePath,
  keyToPath,
  keyToRelativePath,
} from '../../worker/storage/fs-key-path.ts';

describe('keyToRelativePath', () => {
  it('marks folders with a trailing % and escapes % in names', () => {
    expect(keyToRelativePath('a')).toBe('a');
    expect(keyToRelativePath('a/b')).toBe('a%/b');
    expect(keyToRelativePath('100%/x%')).toBe('100%25%/x%25');
    expect(folderToRelativePath('a/b')).toBe('a%/b%');
  });

  it('gives a key and a folder of the same name different paths', () => {
    expect(keyToRelativePath('a')).not.toBe(folderToRelativePath('a'));
    expect(keyToRelativePath('a%')).not.toBe(folderToRelativePath('a'));
  });

  it('decodes every name it produces back to the segment', () => {
    for (const segment of ['a', '%', '%%', 'a%25', '100%', 'x%2F', 'ü', '.tmp']) {
      const file = keyToRelativePath(segment);
      const folder = folderToRelativePath(segment);
      expect(decodeEntryName(file, false)).toEqual({ kind: 'file', segment });
      expect(decodeEntryName(folder, true)).toEqual({ kind: 'folder', segment });
    }
  });

  it('ignores names the store never writes', () => {
    expect(decodeEntryName('plain-folder', true)).toBeUndefined();
    expect(decodeEntryName('file%', false)).toBeUndefined();
  });

  it('keeps paths under the objects folder', () => {
    expect(keyToPath('/data/objects', 'a/b')).toBe('/data/objects/a%/b');
  });
});
