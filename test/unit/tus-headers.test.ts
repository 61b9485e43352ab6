import { describe, expect, it } from 'vitest';
import {
  byteCountHeader,
  checkTusResumable,
  formatMetadata,
  parseChecksum,
  parseMetadata,
  targetOf,
} from '../../api/uploads/tus-headers.ts';
import { ByteSegments } from '../../worker/uploads/byte-segments.ts';
import { contiguous } from '../../worker/uploads/upload-record.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('tus headers', () => {
  it('reads Upload-Metadata pairs, keys alone, and gives them back the same', () => {
    const header = `path ${b64('/scans/knee ü.bin')},filetype ${b64('image/png')},is_confidential`;
    const metadata = parseMetadata(header);
    expect(metadata).toEqual({ path: '/scans/knee ü.bin', filetype: 'image/png', is_confidential: '' });
    expect(parseMetadata(formatMetadata(metadata))).toEqual(metadata);
    expect(parseMetadata(undefined)).toEqual({});
  });

  it('refuses malformed metadata with 400', () => {
    for (const bad of ['path a b', `path ${b64('x')},path ${b64('y')}`, 'path not*base64', 'kéy', ' , ']) {
      expect(() => parseMetadata(bad)).toThrow(expect.objectContaining({ status: 400 }));
    }
    const many = Array.from({ length: 40 }, (_, i) => `k${i}`).join(',');
    expect(() => parseMetadata(many)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('names the file from path, else filename; refuses a path that escapes or is empty', () => {
    expect(targetOf({ path: '/a/b.txt', filetype: 'Text/Plain' })).toEqual({
      path: 'a/b.txt',
      contentType: 'text/plain',
    });
    expect(targetOf({ filename: 'photo.jpg' })).toEqual({
      path: 'photo.jpg',
      contentType: 'application/octet-stream',
    });
    const bad: Record<string, string>[] = [
      {},
      { path: '../etc/passwd' },
      { path: 'a//b' },
      { path: '/' },
      { path: 'a', filetype: 'nonsense' },
    ];
    for (const metadata of bad)
      expect(() => targetOf(metadata)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('reads byte counts and checksums strictly', () => {
    expect(byteCountHeader('1073741824', 'Upload-Length')).toBe(1073741824);
    for (const bad of [undefined, '', '-1', '1.5', '0x10', '99999999999999999'])
      expect(() => byteCountHeader(bad, 'Upload-Length')).toThrow(expect.objectContaining({ status: 400 }));
    expect(parseChecksum('sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=')).toEqual({
      algorithm: 'sha1',
      digest: 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=',
    });
    expect(parseChecksum(undefined)).toBeUndefined();
    expect(() => parseChecksum('crc32 AAAA')).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseChecksum('sha1')).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('speaks tus 1.0.0 only', () => {
    expect(() => checkTusResumable('1.0.0')).not.toThrow();
    expect(() => checkTusResumable('0.2.2')).toThrow(expect.objectContaining({ status: 412 }));
    expect(() => checkTusResumable(undefined)).toThrow(expect.objectContaining({ status: 412 }));
  });
});

describe('cutting a body into segments', () => {
  async function cut(chunks: number[], max: number): Promise<number[][]> {
    let n = 0;
    async function* source() {
      for (const size of chunks) yield Buffer.alloc(size, n++);
    }
    const segments = new ByteSegments(source());
    const out: number[][] = [];
    while (await segments.more()) {
      const sizes: number[] = [];
      for await (const part of segments.next(max)) sizes.push(part.length);
      out.push(sizes);
    }
    return out;
  }

  it('gives pieces of at most max bytes, in order, none empty', async () => {
    expect(await cut([3, 3, 3], 4)).toEqual([[3, 1], [2, 2], [1]]);
    expect(await cut([10], 4)).toEqual([[4], [4], [2]]);
    expect(await cut([0, 4, 0], 4)).toEqual([[4]]);
    expect(await cut([], 4)).toEqual([]);
  });

  it('keeps every byte in its place', async () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    async function* source() {
      for (let i = 0; i < data.length; i += 37) yield data.subarray(i, i + 37);
    }
    const segments = new ByteSegments(source());
    const parts: Buffer[] = [];
    while (await segments.more()) for await (const part of segments.next(100)) parts.push(part);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('accepts segments only when they cover the upload without gap or overlap', () => {
    const seg = (offset: number, size: number) => ({ key: `k${offset}`, offset, size });
    expect(contiguous([seg(4, 4), seg(0, 4)], 8)?.map((s) => s.offset)).toEqual([0, 4]);
    expect(contiguous([seg(0, 4), seg(5, 3)], 8)).toBeUndefined();
    expect(contiguous([seg(0, 4), seg(3, 5)], 8)).toBeUndefined();
    expect(contiguous([seg(0, 4)], 8)).toBeUndefined();
    expect(contiguous([], 0)).toEqual([]);
  });
});
