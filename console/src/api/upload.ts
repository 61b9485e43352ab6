/**
 * One file upload with progress and cancel. A file under 16 MiB goes in one PUT, by XMLHttpRequest
 * (fetch reports no upload progress), that creates only (`If-None-Match: *`): an upload never silently
 * replaces a file, and a grantee with append only may use it. A larger one goes resumably with tus
 * (resumable-upload.ts), which survives a dropped connection.
 */
import { authHeaders, type Credentials } from './http.ts';
import { filePath } from './paths.ts';
import { ApiError, apiErrorOf } from './problem.ts';
import { goesResumably } from './resumable.ts';
import { uploadResumably } from './resumable-upload.ts';

export interface UploadHandle {
  done: Promise<void>;
  cancel: () => void;
  /** Whether it goes with tus (resumable), else one PUT. */
  resumable: boolean;
}

export interface UploadOptions {
  /**
   * Resumable uploads only: whether to refuse a taken name before starting (default true). Asking
   * needs read access to the file; without it the server alone decides (append never replaces).
   */
  checkTaken?: boolean;
  /** Replace a file of that name (default false: create only, `If-None-Match: *`, 412 if taken). */
  replace?: boolean;
}

export function uploadFile(
  credentials: Credentials,
  owner: string,
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
  options: UploadOptions = {},
): UploadHandle {
  return goesResumably(file.size)
    ? uploadResumably(credentials, owner, path, file, onProgress, options)
    : uploadByPut(credentials, owner, path, file, onProgress, options.replace === true);
}

function uploadByPut(
  credentials: Credentials,
  owner: string,
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
  replace: boolean,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<void>((resolve, reject) => {
    xhr.open('PUT', filePath(owner, path));
    for (const [name, value] of Object.entries(authHeaders(credentials))) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('content-type', file.type === '' ? 'application/octet-stream' : file.type);
    if (!replace) xhr.setRequestHeader('if-none-match', '*');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        reject(apiErrorOf(xhr.status, xhr.responseText, xhr.getResponseHeader('x-request-id')));
      }
    };
    xhr.onerror = () =>
      reject(new ApiError(0, 'network', 'the upload was interrupted; check the connection and retry', null));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'cancelled', null));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort(), resumable: false };
}
