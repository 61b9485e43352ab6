/**
 * One file upload with progress and cancel: XMLHttpRequest, since fetch reports no upload progress. A PUT
 * that creates only (`If-None-Match: *`): an upload never silently replaces a file, and a grantee with
 * append only may use it.
 */
import { authHeaders, type Credentials } from './http.ts';
import { filePath } from './paths.ts';
import { ApiError, apiErrorOf } from './problem.ts';
import type { FileInfo } from './types.ts';

export interface UploadHandle {
  done: Promise<FileInfo>;
  cancel: () => void;
}

export function uploadFile(
  credentials: Credentials,
  owner: string,
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<FileInfo>((resolve, reject) => {
    xhr.open('PUT', filePath(owner, path));
    for (const [name, value] of Object.entries(authHeaders(credentials))) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('content-type', file.type === '' ? 'application/octet-stream' : file.type);
    xhr.setRequestHeader('if-none-match', '*');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve(JSON.parse(xhr.responseText) as FileInfo);
      } else {
        reject(apiErrorOf(xhr.status, xhr.responseText, xhr.getResponseHeader('x-request-id')));
      }
    };
    xhr.onerror = () =>
      reject(new ApiError(0, 'network', 'the upload was interrupted; check the connection and retry', null));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'cancelled', null));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}
