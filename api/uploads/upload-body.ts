/**
 * Streaming a request body into a resumable upload (the worker's `uploads.patch`), shared by tus and
 * the IETF draft: the body is read until it ends or its client goes away, and the bytes that arrived
 * before a dropped connection are kept (the worker records them segment by segment).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { UploadView } from '../../protocol/upload-view.ts';
import { type OpenStream, streamResult } from '../call-service.ts';
import type { BodyReader } from '../files/replayable-body.ts';
import { BodyTooLargeError, pumpUpload } from '../files/upload.ts';
import { HttpProblem } from '../problem.ts';

/**
 * The request body, read until it ends or its client goes away: the bytes that arrived before a dropped
 * connection are a valid prefix of what was sent at Upload-Offset, and both protocols let the client go
 * on after them, so a dropped connection ends the body rather than failing it.
 */
export function bodyUntilDropped(raw: IncomingMessage): BodyReader {
  const chunks = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let dropped = false;
  return {
    async next() {
      if (dropped) return { done: true, value: undefined };
      try {
        return await chunks.next();
      } catch {
        dropped = true;
        return { done: true, value: undefined };
      }
    },
  };
}

export interface AppendLimits {
  maxFileBytes: number;
  chunkBytes: number;
}

/** Streams the request body into upload `id` at `offset`; resolves to the upload as it then stands. */
export async function appendBody(
  open: OpenStream,
  request: FastifyRequest,
  args: {
    owner: string;
    id: string;
    offset: number;
    checksum?: { algorithm: string; digest: string } | undefined;
  },
  limits: AppendLimits,
): Promise<UploadView> {
  const { checksum, ...rest } = args;
  const stream = open(request, 'uploads.patch', { ...rest, ...(checksum === undefined ? {} : { checksum }) });
  try {
    await pumpUpload(stream, bodyUntilDropped(request.raw), {
      maxBytes: limits.maxFileBytes,
      chunkBytes: limits.chunkBytes,
    });
  } catch (error) {
    if (error instanceof BodyTooLargeError)
      throw new HttpProblem(413, `a file is at most ${limits.maxFileBytes} bytes`);
    throw error;
  }
  return streamResult<UploadView>(stream);
}
