/**
 * Resumable uploads with tus 1.0 (core, creation, creation-with-upload, termination, expiration,
 * checksum), so that tus-js-client, Uppy and the tus clients of other languages work unchanged:
 *
 *   OPTIONS /v1/users/{owner}/uploads/       what is served (no token needed)
 *   POST    /v1/users/{owner}/uploads/       create (Upload-Length, Upload-Metadata: path, filetype); 201 + Location
 *   HEAD    /v1/users/{owner}/uploads/{id}   Upload-Offset: where to go on from
 *   PATCH   /v1/users/{owner}/uploads/{id}   bytes at Upload-Offset; 204 + the new Upload-Offset
 *   DELETE  /v1/users/{owner}/uploads/{id}   drop it
 *
 * The same upload resource also answers the IETF draft (a request without Tus-Resumable that names the
 * draft's interop version, or a PATCH of application/partial-upload): api/uploads/draft-upload.ts,
 * whose uploads are created by a PUT of the file with Upload-Complete (api/routes/files.ts).
 *
 * The api keeps nothing: every request is a command to a worker, and the upload's state lives in the
 * object store (worker/uploads/), so any api replica and any worker takes the next PATCH. A PATCH whose
 * connection drops keeps the bytes that arrived: the api ends the stream instead of cancelling it.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UploadView } from '../../protocol/upload-view.ts';
import type { CallService, OpenStream } from '../call-service.ts';
import { conditionalHeaders } from '../etag.ts';
import { fileLocation } from '../files/file-headers.ts';
import { HttpProblem } from '../problem.ts';
import { uploadsSchemas } from '../schemas/uploads.ts';
import { speaksDraft } from '../uploads/draft-headers.ts';
import { draftUploads } from '../uploads/draft-upload.ts';
import {
  byteCountHeader,
  checkTusResumable,
  formatMetadata,
  OFFSET_OCTET_STREAM,
  parseChecksum,
  parseMetadata,
  TUS_CHECKSUM_ALGORITHMS,
  TUS_EXTENSIONS,
  TUS_VERSION,
  targetOf,
} from '../uploads/tus-headers.ts';
import { appendBody } from '../uploads/upload-body.ts';

export const UPLOADS_ROUTE = '/v1/users/:owner/uploads/';
export const UPLOAD_ROUTE = '/v1/users/:owner/uploads/:id';

export interface UploadsRouteOptions {
  call: CallService;
  open: OpenStream;
  maxFileBytes: number;
  chunkBytes: number;
}

type UploadRequest = FastifyRequest<{ Params: { owner: string; id?: string } }>;

export function uploadsRoutes(options: UploadsRouteOptions) {
  const { call, open } = options;
  const limits = { maxFileBytes: options.maxFileBytes, chunkBytes: options.chunkBytes };
  const draft = draftUploads({ call, open, ...limits });
  /** The upload resource speaks both; the creation endpoint (POST .../uploads/) is tus only. */
  const isDraft = (request: FastifyRequest) =>
    request.routeOptions.url === UPLOAD_ROUTE && speaksDraft(request.method, request.headers);

  function setUploadHeaders(reply: FastifyReply, owner: string, upload: UploadView): void {
    reply
      .header('upload-offset', String(upload.offset))
      .header('upload-expires', new Date(upload.expiresAt).toUTCString())
      .header('cache-control', 'no-store');
    if (upload.complete) reply.header('content-location', fileLocation(owner, upload.path));
  }

  /** Streams the request body into the upload at `offset`; resolves to the upload as it then stands. */
  async function append(request: UploadRequest, id: string, offset: number): Promise<UploadView> {
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== OFFSET_OCTET_STREAM)
      throw new HttpProblem(415, `a PATCH carries Content-Type: ${OFFSET_OCTET_STREAM}`);
    const checksum = parseChecksum(request.headers['upload-checksum'] as string | undefined);
    return appendBody(open, request, { owner: request.params.owner, id, offset, checksum }, limits);
  }

  return async (app: FastifyInstance) => {
    // Bodies are streamed by the handlers, never parsed.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    // A request without Tus-Resumable that speaks the IETF draft is answered by api/uploads/draft-upload.ts;
    // everything else is tus, exactly as before.
    app.addHook('onSend', async (request, reply) => {
      if (!isDraft(request)) reply.header('tus-resumable', TUS_VERSION);
    });
    app.addHook('preHandler', async (request) => {
      if (request.method !== 'OPTIONS' && !isDraft(request))
        checkTusResumable(request.headers['tus-resumable']);
    });

    app.options(UPLOADS_ROUTE, { schema: uploadsSchemas.options }, async (_request, reply) =>
      reply
        .code(204)
        .header('tus-version', TUS_VERSION)
        .header('tus-extension', TUS_EXTENSIONS)
        .header('tus-max-size', String(options.maxFileBytes))
        .header('tus-checksum-algorithm', TUS_CHECKSUM_ALGORITHMS)
        .send(),
    );

    app.post(UPLOADS_ROUTE, { schema: uploadsSchemas.create }, async (request: UploadRequest, reply) => {
      const { owner } = request.params;
      if (request.headers['upload-defer-length'] !== undefined)
        throw new HttpProblem(400, 'Upload-Defer-Length is not supported: send Upload-Length');
      const length = byteCountHeader(request.headers['upload-length'], 'Upload-Length');
      if (length > options.maxFileBytes)
        throw new HttpProblem(413, `a file is at most ${options.maxFileBytes} bytes`);
      const metadata = parseMetadata(request.headers['upload-metadata'] as string | undefined);
      const { path, contentType } = targetOf(metadata);
      // If-None-Match: * (create only) / If-Match: held now, and again by the write of the last byte.
      const conditions = conditionalHeaders(request);
      const id = randomUUID();
      let upload = await call<UploadView>(
        request,
        'uploads.create',
        { owner, id, path, contentType, length, metadata, conditions },
        { idempotent: true },
      );
      // creation-with-upload: the first bytes come with the creation.
      const withBody =
        request.headers['content-type'] !== undefined && request.headers['content-length'] !== '0';
      if (withBody && length > 0) upload = await append(request, id, 0);
      reply.header('location', `/v1/users/${owner}/uploads/${id}`);
      setUploadHeaders(reply, owner, upload);
      return reply.code(201).send();
    });

    app.head(
      UPLOAD_ROUTE,
      { schema: uploadsSchemas.info, config: { swagger: { exposeHeadRoute: true } } },
      async (request: UploadRequest, reply) => {
        const { owner, id = '' } = request.params;
        if (isDraft(request)) return draft.head(request, reply, owner, id);
        const upload = await call<UploadView>(request, 'uploads.info', { owner, id }, { idempotent: true });
        setUploadHeaders(reply, owner, upload);
        reply.header('upload-length', String(upload.length));
        if (Object.keys(upload.metadata).length > 0)
          reply.header('upload-metadata', formatMetadata(upload.metadata));
        return reply.code(200).send();
      },
    );

    app.patch(UPLOAD_ROUTE, { schema: uploadsSchemas.append }, async (request: UploadRequest, reply) => {
      const { owner, id = '' } = request.params;
      if (isDraft(request)) return draft.append(request, reply, owner, id);
      const offset = byteCountHeader(request.headers['upload-offset'], 'Upload-Offset');
      const upload = await append(request, id, offset);
      setUploadHeaders(reply, owner, upload);
      return reply.code(204).send();
    });

    app.delete(UPLOAD_ROUTE, { schema: uploadsSchemas.delete }, async (request: UploadRequest, reply) => {
      const { owner, id = '' } = request.params;
      if (isDraft(request)) return draft.cancel(request, reply, owner, id);
      await call(request, 'uploads.delete', { owner, id }, { idempotent: true });
      return reply.code(204).send();
    });
  };
}
