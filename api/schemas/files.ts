/** Schemas of the pod files routes (api/routes/files.ts): file metadata, folder pages, transfers. */
import { isoTime, NO_TOKEN, pageLimit, username } from './common.ts';
import { draftCreationHeaders, draftStateHeaders } from './draft-uploads.ts';
import { conditionalRead, conditionalWrite, requestHeaders } from './headers.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { emptyResponse, header, jsonResponse } from './responses.ts';

export const fileInfo = {
  type: 'object',
  description: "A file's metadata (protocol/file-info.ts).",
  required: [
    'path',
    'size',
    'contentType',
    'sha256',
    'etag',
    'author',
    'createdAt',
    'updatedAt',
    'tags',
    'description',
    'revision',
  ],
  properties: {
    path: { type: 'string', description: 'Its path in the pod, without a leading slash.' },
    size: { type: 'integer', minimum: 0 },
    contentType: { type: 'string' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    etag: { type: 'string', description: 'Bare (quoted in the ETag header).' },
    author: { type: ['string', 'null'], description: 'Who wrote the bytes.' },
    createdAt: isoTime,
    updatedAt: isoTime,
    tags: { type: 'array', items: { type: 'string' } },
    description: { type: 'string' },
    revision: { type: 'integer', minimum: 0 },
    processing: {
      type: 'object',
      description:
        "Only in `?metadata`: where processing (previews, text for search) of this version stands; `reason` says why it failed; `search` is there only when the pod's search index could not take all of the file.",
      required: ['state'],
      properties: {
        state: { type: 'string', enum: ['pending', 'done', 'failed'] },
        reason: { type: 'string' },
        search: {
          type: 'string',
          enum: ['without-text', 'none'],
          description:
            "The pod's search index was too full for this file's words (`without-text`: it is found by name, folders and metadata only) or for the file itself (`none`). Deleting files makes room; the file is indexed again when it changes.",
        },
      },
    },
  },
  examples: [
    {
      path: 'medical/lab-2026-11.pdf',
      size: 48213,
      contentType: 'application/pdf',
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      etag: '5d41402abc4b2a76b9719d911017c592',
      author: 'hospital',
      createdAt: '2026-11-30T12:00:00.000Z',
      updatedAt: '2026-11-30T12:00:00.000Z',
      tags: ['lab'],
      description: '',
      revision: 1,
    },
  ],
} as const;

export const folderPage = {
  type: 'object',
  description: "A folder's direct children, in a stable order; `next` is the cursor of the next page.",
  required: ['path', 'items', 'next'],
  properties: {
    path: { type: 'string', examples: ['/medical/'] },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind'],
        properties: {
          name: { type: 'string' },
          kind: { type: 'string', enum: ['file', 'folder'] },
          size: { type: 'integer', minimum: 0 },
          contentType: { type: 'string' },
          updatedAt: isoTime,
          etag: { type: 'string' },
        },
      },
    },
    next: { type: ['string', 'null'] },
  },
} as const;

export const metadataPatch = {
  type: 'object',
  description: 'A JSON merge patch of the metadata; the bytes are untouched.',
  properties: {
    tags: { type: ['array', 'null'], items: { type: 'string' } },
    description: { type: ['string', 'null'] },
  },
  examples: [{ tags: ['lab', 'blood'], description: 'CBC, March' }],
} as const;

/** `*` is the file path (`a/b.pdf`) or a folder (`a/`, `''` for the pod's root). */
export const fileParams = {
  type: 'object',
  required: ['owner'],
  properties: {
    owner: { ...username, description: "The pod's owner." },
    '*': {
      type: 'string',
      description:
        'A file path, or a folder ending in "/" ("" is the root): UTF-8 segments, no empty, "." or ".." segment, at most 1024 bytes.',
      examples: ['medical/lab-2026-11.pdf'],
    },
  },
} as const;

export const fileHeaders = {
  etag: header('The version of the file (bytes and metadata).'),
  'last-modified': header('When the file last changed.'),
  'repr-digest': header('sha-256 of the bytes (RFC 9530).'),
  'x-podstore-author': header('Who wrote the bytes.'),
  'accept-ranges': header('bytes'),
  'cache-control': header('private, no-cache'),
};

const bodyHeaders = {
  ...fileHeaders,
  'content-disposition': header('inline for passive types, else attachment (and with ?download).'),
  'content-security-policy': header('A sandbox: a file never runs in the api origin.'),
  'content-length': header('The bytes sent.'),
};

/**
 * Bytes of any type, streamed: never parsed nor serialised by the api. (No `type`: the api hands the
 * body to the route unread, so there is nothing for a JSON validator to check.)
 */
const bytes = {
  contentMediaType: 'application/octet-stream',
  description: 'The bytes of the file; the Content-Type they are sent with is stored with them.',
} as const;

const tags = ['files'];
const READ_STATUSES = [...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES];
const WRITE_STATUSES = [...READ_STATUSES, 409, 412, 413, 415, 507];

/** Whatever the route itself answers 400 for: a bad path, a folder where a file is needed. */
const badPath = { 400: 'A bad path, a folder path where a file is needed (or the reverse), a bad header' };

export const filesSchemas = {
  get: {
    operationId: 'getFile',
    tags,
    summary:
      'Download a file (Range, conditions), its metadata (?metadata), or list a folder (path ends in /)',
    params: fileParams,
    querystring: {
      type: 'object',
      properties: {
        metadata: { type: 'string', description: 'Present: answer the metadata as JSON.' },
        preview: {
          type: 'string',
          description:
            'A preview of an image or PDF (its first page) as WebP, at most this many pixels on its longest side: 256 or 1024.',
          examples: ['256'],
        },
        download: { type: 'string', description: 'Present: serve as an attachment.' },
        cursor: { type: 'string', description: 'Folders: the `next` of the previous page.' },
        limit: pageLimit,
      },
    },
    headers: requestHeaders({
      ...conditionalRead,
      range: {
        type: 'string',
        description: 'One byte range (`bytes=0-1023`); others are ignored.',
        examples: ['bytes=0-1023'],
      },
    }),
    response: {
      200: {
        description: 'The file (its bytes), its metadata (?metadata), or a folder page.',
        headers: bodyHeaders,
        content: {
          'application/json': { schema: { anyOf: [folderPage, fileInfo] } },
          '*/*': { schema: bytes },
        },
      },
      202: {
        description: '?preview: the file is still being processed; ask again after Retry-After.',
        headers: { 'retry-after': header('Seconds before asking again.') },
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['processing', 'retryAfter'],
              properties: {
                processing: { type: 'string', enum: ['pending'] },
                retryAfter: { type: 'integer' },
              },
            },
          },
        },
      },
      206: {
        description: 'The range asked for.',
        headers: { ...bodyHeaders, 'content-range': header('bytes start-end/size') },
        content: { '*/*': { schema: bytes } },
      },
      304: emptyResponse('Not modified since the version the conditions name.', fileHeaders),
      ...problemResponses([...READ_STATUSES, 412, 415, 416], {
        ...badPath,
        415: '?preview: no preview of this file can exist (its kind has none, or processing failed on it)',
        416: 'The range asks for no byte of the file (Content-Range: bytes */size)',
      }),
    },
  },
  head: {
    operationId: 'headFile',
    tags,
    summary: "A file's headers, or whether a folder exists",
    params: fileParams,
    querystring: { type: 'object', properties: { download: { type: 'string' } } },
    headers: requestHeaders(conditionalRead),
    response: {
      200: emptyResponse('The headers of the file (or of the folder listing).', bodyHeaders),
      304: emptyResponse('Not modified.', fileHeaders),
      ...problemResponses([...READ_STATUSES, 412], badPath),
    },
  },
  put: {
    operationId: 'putFile',
    tags,
    summary: 'Upload a file (create or replace), streamed; resumably with Upload-Complete (IETF draft)',
    description:
      "With `Upload-Complete` this PUT creates a resumable upload (draft-ietf-httpbis-resumable-upload-11): a `104 (Upload Resumption Supported)` interim answer names the upload resource (`Location`) as soon as it exists, when the request names interop version 8. Once every byte is in, the answer is the PUT's, with `Upload-Complete: ?1`. With `Upload-Complete: ?0` and the bytes still owed, the answer is 201 without a body: `Location` is the upload, `Upload-Offset` how far it got.",
    params: fileParams,
    headers: requestHeaders({
      ...conditionalWrite,
      ...draftCreationHeaders,
    }),
    body: { content: { 'application/octet-stream': { schema: bytes } } },
    response: {
      200: jsonResponse('Replaced.', fileInfo, {
        ...fileHeaders,
        'upload-complete': draftStateHeaders['upload-complete'],
      }),
      201: jsonResponse(
        'Created (or, with Upload-Complete: ?0 and bytes still owed, the upload: no body).',
        fileInfo,
        {
          ...fileHeaders,
          location: header(
            'The file (or, with Upload-Complete: ?0, the upload: /v1/users/{owner}/uploads/{id}).',
          ),
          ...draftStateHeaders,
        },
      ),
      ...problemResponses(WRITE_STATUSES, {
        ...badPath,
        400: `${badPath[400]}; with Upload-Complete: no length known (send Upload-Length), or lengths that disagree`,
      }),
    },
  },
  post: {
    operationId: 'postFile',
    tags,
    summary: 'Create a file in a folder, named by the server (from Slug when free)',
    params: fileParams,
    headers: requestHeaders({
      slug: { type: 'string', description: 'The name wished for.', examples: ['Lab Result.pdf'] },
      'idempotency-key': {
        type: 'string',
        description:
          '1 to 255 visible ASCII characters (a Structured Field String or a bare token): a retry with the same key creates nothing more.',
        examples: ['"8e03978e-40d5-43e8-bc93-6894a57f9324"'],
      },
    }),
    body: { content: { 'application/octet-stream': { schema: bytes } } },
    response: {
      200: jsonResponse(
        'The file an earlier request with the same Idempotency-Key created.',
        fileInfo,
        fileHeaders,
      ),
      201: jsonResponse('Created.', fileInfo, { ...fileHeaders, location: header('The file.') }),
      ...problemResponses([...WRITE_STATUSES, 422], badPath),
    },
  },
  patch: {
    operationId: 'patchFile',
    tags,
    summary: "Change a file's tags and description (JSON merge patch)",
    params: fileParams,
    headers: requestHeaders(conditionalWrite),
    body: {
      content: {
        'application/merge-patch+json': { schema: metadataPatch },
        'application/json': { schema: metadataPatch },
      },
    },
    response: {
      200: jsonResponse('The metadata after the patch.', fileInfo, fileHeaders),
      ...problemResponses(WRITE_STATUSES, badPath),
    },
  },
  delete: {
    operationId: 'deleteFile',
    tags,
    summary: 'Delete a file',
    params: fileParams,
    headers: requestHeaders(conditionalWrite),
    response: {
      204: emptyResponse('Deleted.'),
      ...problemResponses([...READ_STATUSES, 409, 412], badPath),
    },
  },
  options: {
    operationId: 'describeFile',
    tags,
    summary: 'What a file path accepts (no token needed): PATCH types, resumable uploads (IETF draft)',
    security: NO_TOKEN,
    params: fileParams,
    response: {
      204: emptyResponse('The methods and PATCH types; on a file path, the resumable upload limits.', {
        allow: header('The methods served.'),
        'accept-patch': header(
          'merge-patch JSON; on a file path also application/partial-upload: a PUT there may create a resumable upload (draft-ietf-httpbis-resumable-upload-11).',
        ),
        'upload-limit': header('On a file path: `max-size=<bytes>` (MAX_FILE_BYTES).'),
      }),
      ...problemResponses(EDGE_STATUSES, badPath),
    },
  },
};
