/**
 * The IETF "Resumable Uploads for HTTP" draft, draft-ietf-httpbis-resumable-upload-11 (interop
 * version 8), beside tus and on the same worker-side uploads (worker/uploads/): the api keeps no state,
 * every step is an `uploads.*` command, so any api replica takes the next request.
 *
 *   PUT    /v1/users/{owner}/files/{path}  with Upload-Complete: creation (104 + Location as soon as
 *                                          the worker made the upload, then the bytes)
 *   HEAD   /v1/users/{owner}/uploads/{id}  offset retrieval: 204 + Upload-Offset, Upload-Complete, ...
 *   PATCH  /v1/users/{owner}/uploads/{id}  append (application/partial-upload at Upload-Offset)
 *   DELETE /v1/users/{owner}/uploads/{id}  cancellation: 204
 *
 * The file is written by the same FilesService write as a PUT once the last byte is in, and the answer
 * is then what the PUT answers (201 or 200, the file's metadata, ETag, Location), with Upload-Complete: ?1.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConditionalHeaders } from '../../protocol/preconditions.ts';
import type { UploadView } from '../../protocol/upload-view.ts';
import type { CallService, OpenStream } from '../call-service.ts';
import { fileLocation, setFileHeaders } from '../files/file-headers.ts';
import { uploadMediaType } from '../files/media-type.ts';
import { HttpProblem } from '../problem.ts';
import {
  completedUpload,
  declaredLength,
  hasBody,
  INTEROP_HEADER,
  INTEROP_VERSION,
  inconsistentLength,
  interopVersionOf,
  mediaTypeOf,
  mismatchingOffset,
  PARTIAL_UPLOAD,
  parseSfBoolean,
  parseSfByteCount,
  sfBoolean,
  uploadLimit,
} from './draft-headers.ts';
import { writeInformational } from './informational.ts';
import { type AppendLimits, appendBody } from './upload-body.ts';

export interface DraftUploadOptions extends AppendLimits {
  call: CallService;
  open: OpenStream;
}

export const uploadLocation = (owner: string, id: string): string => `/v1/users/${owner}/uploads/${id}`;

/** The answer of the PUT the upload was created by, once the file is written. */
function sendFileAnswer(reply: FastifyReply, owner: string, upload: UploadView) {
  const info = upload.file;
  if (info === undefined) throw new Error(`upload ${upload.id} is complete without its file`);
  const created = upload.created ?? true;
  setFileHeaders(reply, info).header('upload-complete', '?1');
  if (created) reply.header('location', fileLocation(owner, info.path));
  return reply.code(created ? 201 : 200).send(info);
}

/** The upload's state as the draft's response fields. */
function stateHeaders(upload: UploadView, maxFileBytes: number): Record<string, string> {
  return {
    'upload-offset': String(upload.offset),
    'upload-complete': sfBoolean(upload.complete),
    'upload-length': String(upload.length),
    'upload-limit': uploadLimit(maxFileBytes, upload.expiresAt),
  };
}

export function draftUploads(options: DraftUploadOptions) {
  const { call, open } = options;
  const info = (request: FastifyRequest, owner: string, id: string) =>
    call<UploadView>(request, 'uploads.info', { owner, id }, { idempotent: true });

  /**
   * Upload creation by `PUT /v1/users/{owner}/files/{path}` with Upload-Complete. The length must be
   * known now (the worker reserves quota for it): Upload-Length, or Content-Length with Upload-Complete: ?1.
   */
  async function create(
    request: FastifyRequest,
    reply: FastifyReply,
    target: { owner: string; path: string; conditions: ConditionalHeaders; complete: boolean },
  ) {
    const { owner, path, conditions, complete } = target;
    const limit = uploadLimit(options.maxFileBytes);
    const length = declaredLength(request.headers, 0, complete);
    if (length === undefined)
      throw new HttpProblem(
        400,
        'a resumable upload needs its length when it is created: send Upload-Length, or a Content-Length with Upload-Complete: ?1 (a length known only at the end is not supported)',
        undefined,
        { 'upload-limit': limit },
      );
    if (length > options.maxFileBytes)
      throw new HttpProblem(413, `a file is at most ${options.maxFileBytes} bytes`, undefined, {
        'upload-limit': limit,
      });
    const id = randomUUID();
    let upload = await call<UploadView>(
      request,
      'uploads.create',
      {
        owner,
        id,
        path,
        contentType: uploadMediaType(request.headers['content-type']),
        length,
        metadata: {},
        conditions,
      },
      { idempotent: true },
    );
    const location = uploadLocation(owner, id);
    // The draft: a draft implementation sends 104 only to a client that names the same interop version.
    if (!upload.complete && interopVersionOf(request.headers) === INTEROP_VERSION)
      writeInformational(reply.raw, 104, 'Upload Resumption Supported', {
        location,
        [INTEROP_HEADER]: String(INTEROP_VERSION),
        'upload-limit': uploadLimit(options.maxFileBytes, upload.expiresAt),
      });
    if (!upload.complete && hasBody(request.headers))
      upload = await appendBody(open, request, { owner, id, offset: 0 }, options);
    if (upload.complete) return sendFileAnswer(reply, owner, upload);
    const state = { ...stateHeaders(upload, options.maxFileBytes), location };
    if (complete)
      throw inconsistentLength(
        `Upload-Complete is ?1 but the body ended at byte ${upload.offset} of ${upload.length}; the bytes are kept: append the rest`,
        state,
      );
    reply.headers(state);
    return reply.code(201).send();
  }

  /** Offset retrieval: 204 with where the upload stands. */
  async function head(request: FastifyRequest, reply: FastifyReply, owner: string, id: string) {
    const upload = await info(request, owner, id);
    reply.headers(stateHeaders(upload, options.maxFileBytes)).header('cache-control', 'no-store');
    return reply.code(204).send();
  }

  /** Upload append: the body at Upload-Offset; the file's answer once the last byte is in. */
  async function append(request: FastifyRequest, reply: FastifyReply, owner: string, id: string) {
    if (mediaTypeOf(request.headers['content-type']) !== PARTIAL_UPLOAD)
      throw new HttpProblem(415, `an append carries Content-Type: ${PARTIAL_UPLOAD}`);
    const offset = parseSfByteCount(request.headers['upload-offset']);
    if (offset === undefined)
      throw new HttpProblem(400, 'an append needs Upload-Offset: a non-negative Integer, where its bytes go');
    const complete = parseSfBoolean(request.headers['upload-complete']);
    if (complete === undefined)
      throw new HttpProblem(400, 'an append needs Upload-Complete: ?1 (its body ends the upload) or ?0');
    const length = declaredLength(request.headers, offset, complete);
    const before = await info(request, owner, id);
    if (before.complete) throw completedUpload('the upload is already complete', { 'upload-complete': '?0' });
    if (before.offset !== offset) throw mismatchingOffset(before.offset, offset);
    if (length !== undefined && length !== before.length)
      throw inconsistentLength(`the upload was created with ${before.length} bytes, not ${length}`, {
        'upload-complete': '?0',
      });
    let upload = before;
    if (hasBody(request.headers)) {
      try {
        upload = await appendBody(open, request, { owner, id, offset }, options);
      } catch (error) {
        // Another request moved the upload between the look and the append: say where it stands now.
        if (error instanceof HttpProblem && error.status === 409) {
          const now = await info(request, owner, id);
          if (now.complete)
            throw completedUpload('the upload is already complete', { 'upload-complete': '?0' });
          if (now.offset !== offset) throw mismatchingOffset(now.offset, offset);
        }
        throw error;
      }
    }
    if (upload.complete) return sendFileAnswer(reply, owner, upload);
    const state = stateHeaders(upload, options.maxFileBytes);
    if (complete)
      throw inconsistentLength(
        `Upload-Complete is ?1 but the upload has ${upload.offset} of its ${upload.length} bytes; the bytes are kept: append the rest`,
        state,
      );
    reply.headers(state);
    return reply.code(204).send();
  }

  /** Cancellation: the upload and its bytes are dropped. */
  async function cancel(request: FastifyRequest, reply: FastifyReply, owner: string, id: string) {
    await call(request, 'uploads.delete', { owner, id }, { idempotent: true });
    return reply.code(204).send();
  }

  return { create, head, append, cancel };
}

/** Whether a PUT asks for a resumable upload: an Upload-Complete that is a Boolean (else it is ignored). */
export function resumableCreation(request: FastifyRequest): boolean | undefined {
  return parseSfBoolean(request.headers['upload-complete']);
}
