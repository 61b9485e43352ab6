/**
 * A large file sent with tus (docs/api.md#resumable-uploads-tus) through tus-js-client's browser build:
 * created at the pod's `/uploads/`, then sent in PATCHes; a dropped connection or a 5xx is retried
 * after a pause (RESUMABLE_RETRY_DELAYS_MS), going on from the byte the server has (HEAD). Cancel
 * aborts the request in flight and deletes the upload on the server (tus termination).
 *
 * Within this page only: nothing is remembered for after a reload (no fingerprint in localStorage), so a
 * reloaded page starts the file again. The token travels in the Authorization header of each request,
 * never in a URL or the metadata, and only to the page's own origin: a request to any other (a Location
 * naming another host) is refused before it is sent.
 */
import type { Upload } from 'tus-js-client';
import { RESUMABLE_RETRY_DELAYS_MS, resumableMetadata } from '../../../protocol/resumable-upload.ts';
import { authHeaders, type Credentials, send } from './http.ts';
import { filePath } from './paths.ts';
import { ApiError, asApiError } from './problem.ts';
import {
  checkSameOrigin,
  creationCondition,
  resumableError,
  shouldRetryResumable,
  uploadsEndpoint,
} from './resumable.ts';
import type { UploadHandle, UploadOptions } from './upload.ts';

export function uploadResumably(
  credentials: Credentials,
  owner: string,
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
  options: UploadOptions = {},
): UploadHandle {
  let upload: Upload | undefined;
  let settled = false;
  let fail: (error: ApiError) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    fail = (error) => {
      settled = true;
      reject(error);
    };
    const start = ({ Upload: TusUpload }: typeof import('tus-js-client')) => {
      if (settled) return; // cancelled while the name was being checked or the client loading
      upload = new TusUpload(file, {
        endpoint: uploadsEndpoint(owner, location.href),
        uploadSize: file.size,
        metadata: resumableMetadata(path, file.type),
        headers: authHeaders(credentials),
        // The CLI's: the whole rest of the file in each PATCH (the server keeps what arrived of one
        // whose connection drops), and its retry delays.
        retryDelays: [...RESUMABLE_RETRY_DELAYS_MS],
        // Resuming after a reload is not offered: no upload URL is written to the browser's storage.
        storeFingerprintForResuming: false,
        onBeforeRequest: (request) => {
          checkSameOrigin(request.getURL(), location.href);
          // Create only, as the console's PUT: the server holds If-None-Match: * from the creation to
          // the write of the last byte, so a file made under that name meanwhile is not replaced (412).
          const condition = creationCondition(request.getMethod(), options.replace === true);
          for (const [name, value] of Object.entries(condition)) request.setHeader(name, value);
        },
        onShouldRetry: (error) => shouldRetryResumable(error, navigator.onLine),
        onProgress: (sent, total) => onProgress(sent, total),
        onSuccess: () => {
          settled = true;
          onProgress(file.size, file.size);
          resolve();
        },
        onError: (error) => fail(resumableError(error)),
      });
      upload.start();
    };
    // tus-js-client is a file of its own, loaded with the first large upload (most never need it).
    const client = import('tus-js-client');
    const checked =
      options.checkTaken === false || options.replace === true
        ? Promise.resolve()
        : refuseTakenName(credentials, owner, path);
    Promise.all([client, checked]).then(
      ([tus]) => start(tus),
      (error: unknown) => fail(asApiError(error)),
    );
  });
  return {
    done,
    resumable: true,
    cancel: () => {
      if (settled) return;
      fail(new ApiError(0, 'aborted', 'cancelled', null));
      // Stops the request in flight and deletes the upload with what it holds (DELETE, tus termination).
      upload?.abort(true).catch(() => {
        // Not deleted (the connection is gone, say): the server drops it when it expires.
      });
    },
  };
}

/**
 * An upload from the console creates only, as its PUT does: the creation carries `If-None-Match: *`,
 * which the server checks then and again when the last byte writes the file. This look first only
 * spares the creation of an upload bound to fail: a name already taken is refused with the 412 a PUT
 * would get. A caller who may not read the file (403) cannot tell: the server decides.
 */
async function refuseTakenName(credentials: Credentials, owner: string, path: string): Promise<void> {
  try {
    await send(credentials, `${filePath(owner, path)}?metadata`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return;
    throw error;
  }
  throw new ApiError(412, 'precondition_failed', `a file is already at ${path}`, null);
}
