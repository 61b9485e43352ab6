/**
 * The HTTP answer to `GET …/files/{path}?preview=<size>`: the image (WebP) with an ETag of its own that
 * names the file's version, so a cached preview is revalidated by If-None-Match and never outlives the
 * version it shows; or 202 with Retry-After while the file is still being processed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PreviewAnswer } from '../../protocol/preview-answer.ts';
import { noneMatchHits, quoteEtag } from '../etag.ts';
import { HttpProblem } from '../problem.ts';

/** The size asked for: a whole number of pixels (the worker says which sizes exist). */
export function previewSize(text: string): number {
  const size = Number(text);
  if (text === '' || !Number.isInteger(size) || size < 1 || size > 100_000) {
    throw new HttpProblem(400, 'preview is a size in pixels, e.g. ?preview=256');
  }
  return size;
}

export function sendPreview(request: FastifyRequest, reply: FastifyReply, answer: PreviewAnswer) {
  if (answer.state === 'pending') {
    return reply
      .code(202)
      .header('retry-after', String(answer.retryAfterS))
      .header('cache-control', 'no-store')
      .send({ processing: 'pending', retryAfter: answer.retryAfterS });
  }
  reply
    .header('etag', quoteEtag(answer.etag))
    .header('cache-control', 'private, no-cache')
    .header('content-disposition', 'inline')
    .header('vary', 'Authorization');
  const ifNoneMatch = request.headers['if-none-match'];
  if (noneMatchHits(typeof ifNoneMatch === 'string' ? ifNoneMatch : undefined, answer.etag)) {
    return reply.code(304).send();
  }
  return reply.code(200).type(answer.contentType).send(Buffer.from(answer.body));
}
