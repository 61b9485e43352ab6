import { describe, expect, it } from 'vitest';
import { checkReopened, remainingRange } from '../../api/files/download-resume.ts';
import { pack } from '../../protocol/codec.ts';

const body = { etag: '"v1"', start: 100, end: 1099 };
const meta = (status: number, etag: string, start: number, end: number) =>
  pack({ status, info: { etag }, start, end });

describe('reopening a download at the byte reached', () => {
  it('asks for exactly the bytes not sent yet, from the first byte of the answered range', () => {
    expect(remainingRange(body, 0)).toBe('bytes=100-1099');
    expect(remainingRange(body, 250)).toBe('bytes=350-1099');
    expect(remainingRange({ etag: '"x"', start: 0, end: 9 }, 9)).toBe('bytes=9-9');
  });

  it('takes only that range of that version', () => {
    expect(checkReopened(body, 250, meta(206, '"v1"', 350, 1099))).toBeUndefined();
    expect(checkReopened(body, 250, meta(206, '"v2"', 350, 1099))).toBe('the file changed');
    expect(checkReopened(body, 250, meta(412, '"v2"', 0, 0))).toBe('the worker answered 412');
    expect(checkReopened(body, 250, meta(200, '"v1"', 0, 1099))).toBe('the worker answered 200');
    expect(checkReopened(body, 250, meta(206, '"v1"', 340, 1099))).toBe('the worker offered bytes 340-1099');
    expect(checkReopened(body, 250, meta(206, '"v1"', 350, 2000))).toBe('the worker offered bytes 350-2000');
  });
});
