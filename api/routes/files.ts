/**
 * Pod files over HTTP: `/v1/users/{owner}/files/{path}` is a file, `.../files/{dir}/` (trailing slash) is
 * a folder. Bodies are never buffered: uploads and downloads stream through the broker as data parts
 * under credit-based flow control (see api/files/).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { unpack } from '../../protocol/codec.ts';
import type { ArgsOf } from '../../protocol/command-args.ts';
import { filePathProblem } from '../../protocol/names.ts';
import { evaluatePreconditions, type Method } from '../../protocol/preconditions.ts';
import type { PreviewAnswer } from '../../protocol/preview-answer.ts';
import { type CallService, type OpenStream, streamResult } from '../call-service.ts';
import { conditionalHeaders, namesOneVersion } from '../etag.ts';
import type { BrokerStream, WorkerPart } from '../files/broker-stream.ts';
import { downloadBody } from '../files/download.ts';
import { downloadResume } from '../files/download-resume.ts';
import { startDownload } from '../files/download-start.ts';
import { type FileInfo, fileLocation, setFileBodyHeaders, setFileHeaders } from '../files/file-headers.ts';
import { idempotencyKeyOf } from '../files/idempotency-key.ts';
import { readJsonBody } from '../files/json-body.ts';
import { normaliseUploadMediaType, uploadMediaType } from '../files/media-type.ts';
import { previewSize, sendPreview } from '../files/preview-answer.ts';
import { ReplayableBody } from '../files/replayable-body.ts';
import { uploadWithReplay } from '../files/replayed-upload.ts';
import { BodyTooLargeError } from '../files/upload.ts';
import { HttpProblem } from '../problem.ts';
import { filesSchemas } from '../schemas/files.ts';
import { PARTIAL_UPLOAD, uploadLimit } from '../uploads/draft-headers.ts';
import { draftUploads, resumableCreation } from '../uploads/draft-upload.ts';

/** What a download's answer says before its bytes (worker/files/files-commands.ts). */
interface DownloadMeta {
  status: 200 | 206 | 304 | 416;
  info: FileInfo;
  start: number;
  end: number;
}

export interface FilesRouteOptions {
  call: CallService;
  open: OpenStream;
  maxFileBytes: number;
  window: number;
  chunkBytes: number;
  /** DOWNLOAD_REOPEN_ATTEMPTS: how often a download whose worker died is reopened on another (3). */
  downloadReopens?: number;
  replayBytes: number;
  jsonMaxDepth?: number;
}

type FilesRequest = FastifyRequest<{
  Params: { owner: string; '*': string };
  Querystring: Record<string, string>;
}>;

/** A PUT's or POST's arguments but those the upload adds from its headers. */
type UploadArgs =
  | Omit<ArgsOf<'files.put'>, 'contentType' | 'declaredBytes'>
  | Omit<ArgsOf<'files.post'>, 'contentType' | 'declaredBytes'>;

const MERGE_PATCH = 'application/merge-patch+json';
/** How long a replayed POST waits, in all, for its Idempotency-Key to be let go by a dead worker. */
const REPLAY_MAX_WAIT_MS = 15_000;
/** How long the worker keeps the key the api gives a POST that came without one. */
const API_KEY_TTL_S = 600;

/** Splits the wildcard into a file path or a folder (trailing `/`; `''` is the pod's root). */
function target(request: FilesRequest): { path: string; folder: boolean } {
  const raw = request.params['*'] ?? '';
  const folder = raw === '' || raw.endsWith('/');
  const path = folder ? raw.slice(0, -1) : raw;
  if (path !== '') {
    const problemText = filePathProblem(path);
    if (problemText !== undefined) throw new HttpProblem(400, problemText);
  }
  return { path, folder };
}

function requireFile(request: FilesRequest): string {
  const { path, folder } = target(request);
  if (folder) throw new HttpProblem(400, 'this needs a file path, not a folder (no trailing "/")');
  return path;
}

/**
 * GET ?metadata and HEAD answer from the file's metadata, so their conditions are evaluated here, with
 * the same rules the worker applies to downloads: 412 for a failed If-Match / If-Unmodified-Since, 304
 * for an unchanged file. (The caller may read the file, or the metadata call would have been 404.)
 */
function checkReadConditions(request: FastifyRequest, method: Method, info: FileInfo): boolean {
  const outcome = evaluatePreconditions(method, conditionalHeaders(request), {
    etag: info.etag,
    lastModified: new Date(info.updatedAt),
    lastModifiedStrong: false,
  });
  if (outcome === 'failed') throw new HttpProblem(412, "the file does not match the request's preconditions");
  return outcome === 'not-modified';
}

/** Checked and normalised by normaliseUploadMediaType before the body is read. */
function contentTypeOf(request: FastifyRequest): string {
  return uploadMediaType(request.headers['content-type']);
}

export function filesRoutes(options: FilesRouteOptions) {
  const { call, open } = options;
  const resumable = draftUploads({
    call,
    open,
    maxFileBytes: options.maxFileBytes,
    chunkBytes: options.chunkBytes,
  });

  /**
   * Streams the request body into a new file; answers with its metadata. A `replayable` upload (PUT, or
   * POST with an Idempotency-Key) whose worker dies is sent again when its body is small enough to be
   * kept (api/files/replayed-upload.ts).
   */
  async function upload(
    request: FilesRequest,
    reply: FastifyReply,
    command: 'files.put' | 'files.post',
    args: UploadArgs,
    replayable: boolean,
  ) {
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    if (declared > options.maxFileBytes) {
      throw new HttpProblem(413, `a file is at most ${options.maxFileBytes} bytes`);
    }
    const body = new ReplayableBody(request.raw, replayable ? options.replayBytes : 0);
    const openUpload = () =>
      open(request, command, {
        ...args,
        contentType: contentTypeOf(request),
        // The worker reserves the pod's quota for it before the first byte (a guess it checks as bytes come).
        ...(Number.isSafeInteger(declared) && declared >= 0 ? { declaredBytes: declared } : {}),
      });
    let sent: { stream: BrokerStream; complete: boolean };
    try {
      sent = await uploadWithReplay(openUpload, body, {
        maxBytes: options.maxFileBytes,
        chunkBytes: options.chunkBytes,
        maxAttempts: 4,
        maxWaitMs: REPLAY_MAX_WAIT_MS,
        onReplay: (reason, attempt) => request.log.warn({ reason, attempt }, 'upload sent again'),
      });
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        throw new HttpProblem(413, `a file is at most ${options.maxFileBytes} bytes`);
      throw error;
    }
    // When the body was not read to its end (!sent.complete), the HTTP contract closes the connection
    // after the answer, gently (api/lingering-close.ts).
    const result = await streamResult<{ created: boolean; info: FileInfo }>(sent.stream);
    setFileHeaders(reply, result.info);
    if (result.created) reply.header('location', fileLocation(request.params.owner, result.info.path));
    return reply.code(result.created ? 201 : 200).send(result.info);
  }

  return async (app: FastifyInstance) => {
    // Bodies of this plugin's routes are streamed by the handlers, never parsed, except PATCH's JSON.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (request, payload, done) => {
      if (request.method !== 'PATCH') {
        done(null);
        return;
      }
      // A body refused half-read stays to be drained, not destroyed with its connection (api/lingering-close.ts).
      readJsonBody(payload.iterator({ destroyOnReturn: false }), 64 * 1024, options.jsonMaxDepth).then(
        (value) => done(null, value),
        (error: Error) => done(error),
      );
    });

    app.addHook('onRequest', normaliseUploadMediaType);

    const route = '/v1/users/:owner/files/*';

    app.get(
      route,
      { schema: filesSchemas.get, exposeHeadRoute: false },
      async (request: FilesRequest, reply) => {
        const { owner } = request.params;
        const { path, folder } = target(request);
        if (folder) {
          const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
          if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
            throw new HttpProblem(400, 'limit is a whole number from 1 to 1000');
          }
          const page = await call<{ items: unknown[]; next: string | null }>(
            request,
            'files.list',
            {
              owner,
              dir: path,
              ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
              ...(limit ? { limit } : {}),
            },
            { idempotent: true },
          );
          return { path: path === '' ? '/' : `/${path}/`, ...page };
        }
        if (request.query.preview !== undefined) {
          const size = previewSize(request.query.preview);
          const answer = await call<PreviewAnswer>(
            request,
            'files.preview',
            { owner, path, size },
            { idempotent: true },
          );
          return sendPreview(request, reply, answer);
        }
        if (request.query.metadata !== undefined) {
          const info = await call<FileInfo>(
            request,
            'files.info',
            { owner, path, processing: true },
            { idempotent: true },
          );
          setFileHeaders(reply, info);
          if (checkReadConditions(request, 'GET', info)) return reply.code(304).send();
          return reply.send(info);
        }
        const args = {
          owner,
          path,
          window: options.window,
          ...(request.headers.range === undefined ? {} : { range: request.headers.range }),
          conditions: conditionalHeaders(request),
        };
        const started = await startDownload(
          () => open(request, 'files.get', args),
          3,
          (attempt) => request.log.warn({ attempt }, 'download opened again: its worker was lost'),
        );
        const { stream, meta: first } = started;
        // A small answer comes whole as the command's value, with no parts (worker/files/files-commands.ts).
        const whole =
          first === undefined
            ? await streamResult<{ meta?: DownloadMeta; bytes?: Buffer }>(stream)
            : undefined;
        if (whole === undefined && first?.part !== 'meta') {
          await streamResult(stream);
          throw new HttpProblem(500, `the download sent no metadata (request ${request.id})`);
        }
        const meta = whole === undefined ? (unpack((first as WorkerPart).body) as DownloadMeta) : whole.meta;
        if (meta === undefined)
          throw new HttpProblem(500, `the download sent no metadata (request ${request.id})`);
        setFileHeaders(reply, meta.info);
        setFileBodyHeaders(reply, meta.info, request.query.download !== undefined);
        if (meta.status === 304) return reply.code(304).send();
        if (meta.status === 416) {
          throw new HttpProblem(
            416,
            `the file has ${meta.info.size} bytes; the range asks for none of them`,
            undefined,
            { 'content-range': `bytes */${meta.info.size}` },
          );
        }
        reply
          .code(meta.status)
          .type(meta.info.contentType)
          .header('content-length', String(meta.info.size === 0 ? 0 : meta.end - meta.start + 1));
        if (meta.status === 206)
          reply.header('content-range', `bytes ${meta.start}-${meta.end}/${meta.info.size}`);
        if (whole !== undefined) return reply.send(whole.bytes ?? Buffer.alloc(0));
        const resume =
          meta.info.size === 0
            ? undefined
            : downloadResume(
                { etag: meta.info.etag, start: meta.start, end: meta.end },
                options.downloadReopens ?? 3,
                (range, etag) =>
                  startDownload(
                    () => open(request, 'files.get', { ...args, range, conditions: { ifMatch: etag } }),
                    3,
                  ),
                (from, attempt) =>
                  request.log.warn(
                    { from, attempt },
                    'download reopened on another worker: its worker was lost',
                  ),
              );
        return reply.send(downloadBody(stream, options.window, options.chunkBytes, started.early, resume));
      },
    );

    app.head(
      route,
      { schema: filesSchemas.head, config: { swagger: { exposeHeadRoute: true } } },
      async (request: FilesRequest, reply) => {
        const { owner } = request.params;
        const { path, folder } = target(request);
        if (folder) {
          await call(request, 'files.list', { owner, dir: path, limit: 1 }, { idempotent: true });
          return reply.type('application/json').send();
        }
        const info = await call<FileInfo>(request, 'files.info', { owner, path }, { idempotent: true });
        setFileHeaders(reply, info);
        setFileBodyHeaders(reply, info, request.query.download !== undefined);
        if (checkReadConditions(request, 'HEAD', info)) return reply.code(304).send();
        reply.type(info.contentType).header('content-length', String(info.size));
        return reply.send();
      },
    );

    app.put(route, { schema: filesSchemas.put }, async (request: FilesRequest, reply) => {
      const path = requireFile(request);
      const args = { owner: request.params.owner, path, conditions: conditionalHeaders(request) };
      // Upload-Complete (?1 or ?0): the IETF resumable-upload draft's creation (api/uploads/draft-upload.ts).
      const complete = resumableCreation(request);
      if (complete !== undefined) return resumable.create(request, reply, { ...args, complete });
      return upload(request, reply, 'files.put', args, true);
    });

    app.post(route, { schema: filesSchemas.post }, async (request: FilesRequest, reply) => {
      const { path, folder } = target(request);
      if (!folder) throw new HttpProblem(400, 'POST creates a file in a folder: end the path with "/"');
      const slug = request.headers.slug;
      // A POST without an Idempotency-Key gets one of the api's own, kept briefly: if its worker dies,
      // the api can send it again without creating the file twice. (The client's own retry is still a
      // new request: only the client's key makes that safe.)
      const clientKey = idempotencyKeyOf(request.raw.headersDistinct['idempotency-key']);
      const idempotencyKey = clientKey ?? `podstore-api-${randomUUID()}`;
      return upload(
        request,
        reply,
        'files.post',
        {
          owner: request.params.owner,
          dir: path,
          ...(typeof slug === 'string' ? { slug } : {}),
          idempotencyKey,
          ...(clientKey === undefined ? { idempotencyTtlS: API_KEY_TTL_S } : {}),
        },
        true,
      );
    });

    app.patch(route, { schema: filesSchemas.patch }, async (request: FilesRequest, reply) => {
      const path = requireFile(request);
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (type !== MERGE_PATCH && type !== 'application/json') {
        throw new HttpProblem(415, `send the metadata patch as ${MERGE_PATCH} or application/json`);
      }
      const conditions = conditionalHeaders(request);
      const info = await call<FileInfo>(
        request,
        'files.patch',
        { owner: request.params.owner, path, patch: request.body, conditions },
        { idempotent: namesOneVersion(conditions) },
      );
      return setFileHeaders(reply, info).send(info);
    });

    // The draft (draft-ietf-httpbis-resumable-upload-11, "Limits"): a target that can create a resumable
    // upload says so on OPTIONS, with application/partial-upload in Accept-Patch and its Upload-Limit.
    app.options(route, { schema: filesSchemas.options }, async (request: FilesRequest, reply) => {
      const { folder } = target(request);
      reply.header('allow', 'GET, HEAD, PUT, POST, PATCH, DELETE, OPTIONS');
      if (folder) return reply.code(204).header('accept-patch', `${MERGE_PATCH}, application/json`).send();
      return reply
        .code(204)
        .header('accept-patch', `${MERGE_PATCH}, application/json, ${PARTIAL_UPLOAD}`)
        .header('upload-limit', uploadLimit(options.maxFileBytes))
        .send();
    });

    app.delete(route, { schema: filesSchemas.delete }, async (request: FilesRequest, reply) => {
      const path = requireFile(request);
      await call(
        request,
        'files.delete',
        { owner: request.params.owner, path, conditions: conditionalHeaders(request) },
        { idempotent: true },
      );
      return reply.code(204).send();
    });
  };
}
