/** The HTTP headers that describe a pod file (GET, HEAD, PUT, PATCH answers). */
import type { FastifyReply } from 'fastify';
import type { FileInfo } from '../../protocol/file-info.ts';
import { quoteEtag } from '../etag.ts';
import { FILE_BODY_CSP } from '../security-headers.ts';
import { contentDisposition } from './content-disposition.ts';

export type { FileInfo } from '../../protocol/file-info.ts';

/** Validators and provenance; Content-Type and Content-Length are set by the caller (they vary with ranges). */
export function setFileHeaders(reply: FastifyReply, info: FileInfo): FastifyReply {
  reply
    .header('etag', quoteEtag(info.etag))
    .header('last-modified', new Date(info.updatedAt).toUTCString())
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, no-cache')
    .header('repr-digest', `sha-256=:${Buffer.from(info.sha256, 'hex').toString('base64')}:`);
  if (info.author !== null) reply.header('x-podstore-author', info.author);
  return reply;
}

/**
 * Headers of a file's bytes (GET and HEAD): sandboxed, and inline only when the type cannot run anything
 * and the client did not ask for a download (`?download`); see content-disposition.ts.
 */
export function setFileBodyHeaders(reply: FastifyReply, info: FileInfo, download: boolean): FastifyReply {
  return reply
    .header('content-security-policy', FILE_BODY_CSP)
    .header('content-disposition', contentDisposition(info.path, info.contentType, download));
}

/** `/v1/users/<owner>/files/<path>`, each segment percent-encoded. */
export function fileLocation(owner: string, path: string): string {
  return `/v1/users/${owner}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}
