/** Which errors say only that the client went away (api/client-aborts.ts). */
import { describe, expect, it } from 'vitest';
import { isClientAbort } from '../../api/client-aborts.ts';

const gone = { requestDestroyed: true, socketDestroyed: true };
const here = { requestDestroyed: false, socketDestroyed: false };

describe('isClientAbort', () => {
  it("is a reset, an abort or a premature close while the client's side is closed", () => {
    for (const error of [
      Object.assign(new Error('aborted'), { code: 'ECONNRESET' }),
      new Error('aborted'),
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
    ]) {
      expect(isClientAbort(error, gone), error.message).toBe(true);
      expect(isClientAbort(error, { requestDestroyed: false, socketDestroyed: true })).toBe(true);
    }
  });

  it('is not one while the client is still there, nor for any other error', () => {
    expect(isClientAbort(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), here)).toBe(false);
    expect(isClientAbort(new TypeError('x is undefined'), gone)).toBe(false);
    expect(isClientAbort(Object.assign(new Error('boom'), { code: 'ENOENT' }), gone)).toBe(false);
    expect(isClientAbort(undefined, gone)).toBe(false);
  });
});
