/**
 * Schemas of resumable uploads (api/routes/uploads.ts): tus 1.0, and on the upload resource the IETF
 * draft too (draft-ietf-httpbis-resumable-upload-11; a request without Tus-Resumable that names the
 * draft's interop version, or a PATCH of application/partial-upload).
 */
import { TUS_VERSION } from '../uploads/tus-headers.ts';
import { NO_TOKEN, ownerParams } from './common.ts';
import { draftInteropVersion, draftStateHeaders, partialUpload } from './draft-uploads.ts';
import { fileHeaders, fileInfo } from './files.ts';
import { ifMatch, ifNoneMatch, requestHeaders } from './headers.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { emptyResponse, header, jsonResponse } from './responses.ts';

export const uploadParams = {
  type: 'object',
  required: ['owner', 'id'],
  properties: { ...ownerParams.properties, id: { type: 'string', maxLength: 64 } },
} as const;

/** Described, not checked here: the route answers a missing or other version with tus's 412. */
const tusResumable = {
  type: 'string',
  description: `The tus version: ${TUS_VERSION} (412 otherwise). Every tus request but OPTIONS sends it; a request of the IETF draft does not.`,
  examples: [TUS_VERSION],
} as const;

const byteCount = (description: string) =>
  ({
    type: 'string',
    description: `${description}: a whole number of bytes.`,
    examples: ['1048576'],
  }) as const;

const uploadHeaders = {
  'tus-resumable': header(`${TUS_VERSION}`),
  'upload-offset': header('The bytes stored so far: where to go on from.'),
  'upload-expires': header('When an unfinished upload is dropped.'),
  'cache-control': header('no-store'),
  'content-location': header('The file, once the upload is complete.'),
};

/** Bytes at Upload-Offset, streamed; never parsed. */
const chunk = {
  contentMediaType: 'application/offset+octet-stream',
  description: 'The bytes from Upload-Offset on.',
} as const;

const tags = ['uploads'];
const STATUSES = [...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES, 412];

export const uploadsSchemas = {
  options: {
    tags,
    operationId: 'describeUploads',
    summary: 'What the tus server supports (no token needed)',
    security: NO_TOKEN,
    params: ownerParams,
    response: {
      204: emptyResponse('The tus version, extensions, largest size and checksum algorithms.', {
        'tus-resumable': header(TUS_VERSION),
        'tus-version': header(TUS_VERSION),
        'tus-extension': header('creation, creation-with-upload, termination, expiration, checksum'),
        'tus-max-size': header('The largest file, in bytes (MAX_FILE_BYTES).'),
        'tus-checksum-algorithm': header('The algorithms Upload-Checksum may name.'),
      }),
      ...problemResponses([...EDGE_STATUSES, 404]),
    },
  },
  create: {
    tags,
    operationId: 'createUpload',
    summary: 'Create a resumable upload (tus creation, creation-with-upload)',
    params: ownerParams,
    headers: requestHeaders({
      'tus-resumable': tusResumable,
      'upload-length': byteCount('The whole file'),
      'upload-metadata': {
        type: 'string',
        description:
          'Comma-separated `key base64(value)` pairs; `path` (or `filename`) names the file in the pod, `filetype` its type.',
        examples: ['path bWVkaWNhbC9zY2FuLmRjbQ==,filetype YXBwbGljYXRpb24vZGljb20='],
      },
      'upload-checksum': {
        type: 'string',
        description: 'Of the bytes sent with the creation: `<algorithm> <base64 digest>`.',
      },
      'if-none-match': {
        ...ifNoneMatch,
        description: '`*`: create only; checked now and again when the last byte writes the file (412).',
      },
      'if-match': {
        ...ifMatch,
        description:
          'Replace only this version; checked now and again when the last byte writes the file (412).',
      },
    }),
    body: { content: { 'application/offset+octet-stream': { schema: chunk } } },
    response: {
      201: emptyResponse('Created (with the bytes sent along).', {
        ...uploadHeaders,
        location: header('The upload: /v1/users/{owner}/uploads/{id}.'),
      }),
      ...problemResponses([...STATUSES, 409, 413, 415, 460, 507]),
    },
  },
  info: {
    tags,
    operationId: 'getUploadOffset',
    summary: "Where an upload stands (Upload-Offset): tus, or the IETF draft's offset retrieval",
    params: uploadParams,
    headers: requestHeaders({
      'tus-resumable': tusResumable,
      'upload-draft-interop-version': draftInteropVersion,
    }),
    response: {
      200: emptyResponse('The upload (tus).', {
        ...uploadHeaders,
        'upload-length': header('The whole file, in bytes.'),
        'upload-metadata': header('As sent at creation.'),
      }),
      204: emptyResponse('The upload (the IETF draft).', {
        ...draftStateHeaders,
        'cache-control': header('no-store'),
      }),
      ...problemResponses(STATUSES),
    },
  },
  append: {
    tags,
    operationId: 'appendUpload',
    summary: "Send bytes at Upload-Offset (tus, or the IETF draft's append)",
    params: uploadParams,
    headers: requestHeaders({
      'tus-resumable': tusResumable,
      'upload-draft-interop-version': draftInteropVersion,
      'upload-complete': {
        type: 'string',
        description: 'The IETF draft: `?1` if this body ends the upload, else `?0`.',
        examples: ['?1'],
      },
      'upload-offset': byteCount('Where these bytes go'),
      'upload-checksum': {
        type: 'string',
        description: 'Of these bytes: `<algorithm> <base64 digest>` (460 if they differ).',
      },
    }),
    body: { content: { 'application/offset+octet-stream': { schema: chunk }, ...partialUpload } },
    response: {
      200: jsonResponse(
        'The IETF draft: the last byte replaced the file; the answer of the creating PUT.',
        fileInfo,
        { ...fileHeaders, 'upload-complete': header('?1') },
      ),
      201: jsonResponse(
        'The IETF draft: the last byte created the file; the answer of the creating PUT.',
        fileInfo,
        { ...fileHeaders, location: header('The file.'), 'upload-complete': header('?1') },
      ),
      204: emptyResponse('Stored; the file is written when the last byte arrives.', {
        ...uploadHeaders,
        ...draftStateHeaders,
      }),
      ...problemResponses([...STATUSES, 409, 413, 415, 460, 507], {
        400: 'A bad header; the IETF draft: lengths that disagree, the upload already complete',
        409: 'Upload-Offset is not where the upload stands (the IETF draft: mismatching-upload-offset, with expected-offset), or another PATCH is in progress',
      }),
    },
  },
  delete: {
    tags,
    operationId: 'deleteUpload',
    summary: "Drop an upload (tus termination, the IETF draft's cancellation)",
    params: uploadParams,
    headers: requestHeaders({
      'tus-resumable': tusResumable,
      'upload-draft-interop-version': draftInteropVersion,
    }),
    response: {
      204: emptyResponse('Dropped.', { 'tus-resumable': header(TUS_VERSION) }),
      ...problemResponses(STATUSES),
    },
  },
};
