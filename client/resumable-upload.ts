/**
 * A local file sent to a pod with tus (the api's resumable uploads), through tus-js-client: the upload's
 * URL is kept in a small state file under a fingerprint of the local file (its absolute path, size and
 * modification time) and of the target (server, owner, path), so running the same upload again after
 * an interruption — a dropped network, a killed process — goes on from the byte the server has. The
 * entry is removed once the upload is complete.
 */
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as tus from 'tus-js-client';
import { RESUMABLE_RETRY_DELAYS_MS, resumableMetadata } from '../protocol/resumable-upload.ts';

/** Node's file-backed URL storage: exported by tus-js-client's Node build, missing from its typings. */
const { FileUrlStorage } = tus as unknown as { FileUrlStorage: new (path: string) => tus.UrlStorage };

export interface ResumableUploadOptions {
  contentType?: string;
  /** Where interrupted uploads are remembered (default: defaultStateFile()). */
  stateFile?: string;
  /** Called with the bytes the server has so far. */
  onProgress?: (sent: number, total: number) => void;
  /** Bytes per PATCH (default: the whole rest of the file in one). */
  chunkSize?: number;
  /** Waits between retries after a failure, in ms (default: 0.5 s, 1, 2, 4, 8, 15, 30). */
  retryDelays?: number[];
}

export interface ResumableResult {
  /** The upload's URL. */
  url: string;
  /** Whether it went on from an earlier, interrupted run. */
  resumed: boolean;
}

/** A failure the server answered (its status and problem document), or a network failure (status 0). */
export class ResumableUploadError extends Error {
  override name = 'ResumableUploadError';
  constructor(
    readonly status: number,
    message: string,
    readonly requestId: string | null,
    /** The server's problem document, when it sent one. */
    readonly problem?: Record<string, unknown>,
    readonly retryAfter?: string | null,
  ) {
    super(message);
  }
}

/** `$XDG_STATE_HOME/podstore/uploads.json`, else `~/.local/state/podstore/uploads.json`. */
export function defaultStateFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'podstore', 'uploads.json');
}

export async function resumableUpload(
  server: { baseUrl: string; token?: string | undefined },
  owner: string,
  path: string,
  localFile: string,
  options: ResumableUploadOptions = {},
): Promise<ResumableResult> {
  const stateFile = options.stateFile ?? defaultStateFile();
  await mkdir(dirname(stateFile), { recursive: true });
  const local = resolve(localFile);
  const info = await stat(local);
  const endpoint = `${server.baseUrl.replace(/\/+$/, '')}/v1/users/${owner}/uploads/`;
  const fingerprint = ['podstore', local, info.size, info.mtimeMs, endpoint, path].join('|');
  return new Promise<ResumableResult>((done, fail) => {
    let resumed = false;
    const upload = new tus.Upload(createReadStream(local), {
      endpoint,
      uploadSize: info.size,
      metadata: resumableMetadata(path, options.contentType),
      headers: server.token === undefined ? {} : { authorization: `Bearer ${server.token}` },
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      retryDelays: options.retryDelays ?? [...RESUMABLE_RETRY_DELAYS_MS],
      urlStorage: new FileUrlStorage(stateFile),
      fingerprint: async () => fingerprint,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => options.onProgress?.(sent, total),
      onError: (error) => fail(asUploadError(error)),
      onSuccess: () => done({ url: upload.url as string, resumed }),
    });
    upload
      .findPreviousUploads()
      .then((previous) => {
        const last = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
        if (last !== undefined) {
          resumed = true;
          upload.resumeFromPreviousUpload(last);
        }
        upload.start();
      })
      .catch((error: unknown) => fail(asUploadError(error as Error)));
  });
}

function asUploadError(error: Error): ResumableUploadError {
  if (error instanceof tus.DetailedError && error.originalResponse !== null) {
    const res = error.originalResponse;
    let problem: Record<string, unknown> | undefined;
    try {
      problem = JSON.parse(res.getBody()) as Record<string, unknown>;
    } catch {
      // a body that is not a problem document (a HEAD's, say): the status says enough
    }
    const detail = typeof problem?.detail === 'string' ? problem.detail : `HTTP ${res.getStatus()}`;
    return new ResumableUploadError(
      res.getStatus(),
      detail,
      res.getHeader('x-request-id') ?? null,
      problem,
      res.getHeader('retry-after') ?? null,
    );
  }
  return new ResumableUploadError(0, error.message, null);
}
