/** Typed calls of the API routes the console uses (api/routes/*.ts). */

import { mediaTypeOf } from '../preview.ts';
import { PREVIEW_IMAGE_TYPE } from '../processed-preview.ts';
import { type Credentials, requestJson, send } from './http.ts';
import { filePath, userPath } from './paths.ts';
import { ApiError } from './problem.ts';
import type {
  AuditPage,
  FileDetailsInfo,
  FileInfo,
  FolderPage,
  GrantEntry,
  GrantView,
  IssuedToken,
  SearchAnswer,
  SignUpResult,
  TokenInfo,
} from './types.ts';

/** A preview asked of the server: its image, still being made, or none can exist (415). */
export type PreviewResult =
  | { state: 'ready'; image: Blob }
  | { state: 'pending'; retryAfter: string | null }
  | { state: 'none'; detail: string };

const MERGE_PATCH = 'application/merge-patch+json';

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export const accounts = {
  signUp: (username: string, kind: 'person' | 'organization', profile: Record<string, unknown>) =>
    requestJson<SignUpResult>(null, `${userPath(username)}${query({ kind })}`, {
      method: 'PUT',
      json: profile,
      // Create only: never replace the profile of an account that exists.
      headers: { 'if-none-match': '*' },
    }),
  /** Checks that a token is valid for that username (its profile is readable only by its owner). */
  profile: (credentials: Credentials) =>
    requestJson<Record<string, unknown>>(credentials, userPath(credentials.username)),
};

export const tokens = {
  list: async (credentials: Credentials) =>
    (await requestJson<{ tokens: TokenInfo[] }>(credentials, `${userPath(credentials.username)}/tokens`))
      .tokens,
  issue: (credentials: Credentials, label: string, expiresAt: string | null) =>
    requestJson<IssuedToken>(credentials, `${userPath(credentials.username)}/tokens`, {
      method: 'POST',
      json: { label, ...(expiresAt === null ? {} : { expiresAt }) },
    }),
  revoke: (credentials: Credentials, id: string) =>
    requestJson<void>(credentials, `${userPath(credentials.username)}/tokens/${encodeURIComponent(id)}`, {
      method: 'DELETE',
    }),
};

export const files = {
  list: (credentials: Credentials, owner: string, folder: string, cursor?: string, limit = 50) =>
    requestJson<FolderPage>(credentials, `${filePath(owner, folder)}${query({ limit, cursor })}`),
  metadata: (credentials: Credentials, owner: string, path: string) =>
    requestJson<FileDetailsInfo>(credentials, `${filePath(owner, path)}?metadata`),
  /** The file's bytes (for a download or a preview), as a Blob. */
  body: async (credentials: Credentials, owner: string, path: string, signal?: AbortSignal) =>
    (
      await send(credentials, `${filePath(owner, path)}?download`, signal === undefined ? {} : { signal })
    ).blob(),
  /**
   * A preview made by the server (WebP, longest side at most `size`). Its bytes become a Blob typed
   * image/webp whatever the answer says, so they can only ever be shown as an image.
   */
  preview: async (
    credentials: Credentials,
    owner: string,
    path: string,
    size: number,
    signal?: AbortSignal,
  ): Promise<PreviewResult> => {
    try {
      const response = await send(
        credentials,
        `${filePath(owner, path)}${query({ preview: size })}`,
        signal === undefined ? {} : { signal },
      );
      if (response.status === 202)
        return { state: 'pending', retryAfter: response.headers.get('retry-after') };
      if (mediaTypeOf(response.headers.get('content-type') ?? '') !== PREVIEW_IMAGE_TYPE)
        return { state: 'none', detail: 'the server answered something other than an image' };
      return {
        state: 'ready',
        image: new Blob([await response.arrayBuffer()], { type: PREVIEW_IMAGE_TYPE }),
      };
    } catch (err) {
      if (err instanceof ApiError && err.status === 415) return { state: 'none', detail: err.detail };
      // Too many requests at once (other tabs, uploads): like a preview being made, asked again later.
      if (err instanceof ApiError && err.status === 429) return { state: 'pending', retryAfter: null };
      throw err;
    }
  },
  patch: (credentials: Credentials, owner: string, path: string, etag: string, patch: object) =>
    requestJson<FileInfo>(credentials, filePath(owner, path), {
      method: 'PATCH',
      json: patch,
      contentType: MERGE_PATCH,
      // Only the version on screen: a change made meanwhile is not overwritten (412).
      headers: { 'if-match': `"${etag}"` },
    }),
  remove: (credentials: Credentials, owner: string, path: string) =>
    requestJson<void>(credentials, filePath(owner, path), { method: 'DELETE' }),
};

export const search = {
  /** The pod's files whose words match `q`: all of them for the owner, what the caller may read otherwise. */
  pod: (credentials: Credentials, owner: string, q: string, limit = 20) =>
    requestJson<SearchAnswer>(credentials, `${userPath(owner)}/search${query({ q, limit })}`),
};

export const grants = {
  list: async (credentials: Credentials, owner: string) =>
    (await requestJson<{ grants: GrantView[] }>(credentials, `${userPath(owner)}/grants`)).grants,
  /** One grantee's grant on a pod: what the owner gave it (readable by that grantee too). */
  get: (credentials: Credentials, owner: string, grantee: string) =>
    requestJson<GrantView>(credentials, `${userPath(owner)}/grants/${encodeURIComponent(grantee)}`),
  put: (credentials: Credentials, owner: string, grantee: string, entry: GrantEntry) =>
    requestJson<GrantView>(credentials, `${userPath(owner)}/grants/${encodeURIComponent(grantee)}`, {
      method: 'PUT',
      json: entry,
    }),
  revoke: (credentials: Credentials, owner: string, grantee: string) =>
    requestJson<void>(credentials, `${userPath(owner)}/grants/${encodeURIComponent(grantee)}`, {
      method: 'DELETE',
    }),
};

export const audit = {
  page: (credentials: Credentials, owner: string, cursor?: string, limit = 50) =>
    requestJson<AuditPage>(credentials, `${userPath(owner)}/audit${query({ limit, cursor })}`),
};
