/**
 * The failure answers of the single-object S3 calls: S3's error code taken from the XML body, or implied
 * by the status when there is no body (HEAD), and translated into the storage interface's errors like a
 * minio-js error.
 */
import { describe, expect, it } from 'vitest';
import {
  InvalidKeyError,
  PreconditionFailedError,
  StorageUnavailableError,
} from '../../worker/storage/object-store.ts';
import { translateS3Error } from '../../worker/storage/s3-errors.ts';
import { answerError, type S3Answer } from '../../worker/storage/s3-object-requests.ts';

const answer = (status: number, xml = ''): S3Answer => ({ status, headers: {}, body: Buffer.from(xml) });
const xml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Key>k</Key></Error>`;

describe('answerError', () => {
  it("takes S3's code and message from the XML body", () => {
    const error = answerError(
      answer(412, xml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')),
      'put a',
    );
    expect(error.code).toBe('PreconditionFailed');
    expect(error.status).toBe(412);
    expect(error.message).toBe(
      'put a: 412 PreconditionFailed (At least one of the pre-conditions you specified did not hold)',
    );
  });

  it('implies the code from the status when there is no body, as for HEAD', () => {
    expect(answerError(answer(404), 'head a').code).toBe('NotFound');
    expect(answerError(answer(412), 'head a').code).toBe('PreconditionFailed');
    expect(answerError(answer(503), 'head a').code).toBe('SlowDown');
    expect(answerError(answer(502), 'head a').code).toBe('Http502');
  });

  it('translates into the storage errors: a lost condition, a refused key, everything else unavailable', () => {
    expect(
      translateS3Error(answerError(answer(412, xml('PreconditionFailed', 'x')), 'put'), 'put'),
    ).toBeInstanceOf(PreconditionFailedError);
    expect(
      translateS3Error(answerError(answer(409, xml('ConditionalRequestConflict', 'x')), 'put'), 'put'),
    ).toBeInstanceOf(PreconditionFailedError);
    expect(
      translateS3Error(answerError(answer(400, xml('KeyTooLongError', 'x')), 'put'), 'put'),
    ).toBeInstanceOf(InvalidKeyError);
    for (const failed of [
      answer(500, xml('InternalError', 'x')),
      answer(503),
      answer(403, xml('AccessDenied', 'x')),
    ]) {
      expect(translateS3Error(answerError(failed, 'get'), 'get')).toBeInstanceOf(StorageUnavailableError);
    }
  });
});
