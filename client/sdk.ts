/**
 * A typed client for podstore's REST API, on the platform's fetch. Errors come back as PodstoreError
 * carrying the problem+json document the server sent, its stable code, and whether a retry may help.
 */

import { Readable } from 'node:stream';
import type { FileInfo } from '../protocol/file-info.ts';
import { codeOfStatus, isProblemCode, PROBLEM_CODES, type ProblemCode } from '../protocol/problem-types.ts';
import type { SearchAnswer } from '../protocol/search.ts';
import { ResumableUploadError, type ResumableUploadOptions, resumableUpload } from './resumable-upload.ts';

export type { ProblemCode } from '../protocol/problem-types.ts';

export interface Problem {
  /** `urn:podstore:problem:<code>`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  code?: string;
}

export class PodstoreError extends Error {
  override name = 'PodstoreError';
  /** The problem type (docs/api.md#errors): the server's, or the usual one of the status. */
  readonly code: ProblemCode;
  /** Seconds the server asked to wait (Retry-After), when it said. */
  readonly retryAfterS: number | undefined;
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly requestId: string | null,
    retryAfter?: string | null,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.code = isProblemCode(problem?.code) ? problem.code : codeOfStatus(status);
    const seconds = retryAfter === undefined || retryAfter === null ? Number.NaN : Number(retryAfter);
    this.retryAfterS = Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
  }

  /** Whether sending the same request again later may succeed (after retryAfterS, when given). */
  get retryable(): boolean {
    return this.retryAfterS !== undefined || PROBLEM_CODES[this.code].retryable;
  }
}

export type Profile = Record<string, unknown>;

export interface UserResult {
  profile: Profile;
  etag: string | null;
  /** True when PUT created the user (201), false when it replaced the profile (200). */
  created?: boolean;
  /** On sign-up only: the new account's first token, shown this once. */
  token?: string;
}

export interface TokenInfo {
  id: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export type Mode = 'read' | 'append' | 'write' | 'delete' | 'control';

export interface GrantEntry {
  scope: string;
  modes: Mode[];
  expiresAt?: string;
  /** With append or write: bytes, and new files, the grantee may add under this entry in all. */
  maxBytes?: number;
  maxFiles?: number;
}

/** An account's storage quota and what its pod uses (docs/security/quota.md). */
export interface QuotaUsage {
  used: { bytes: number; files: number };
  reserved: { bytes: number; files: number };
  limits: { bytes: number; files: number };
  overridden: { bytes: boolean; files: boolean };
  available: { bytes: number; files: number };
  updatedAt: string;
  recountedAt?: string;
}

/** An account erasure: `done` once nothing of the account is left and its name is free again. */
export interface ErasureStatus {
  id: string;
  state: 'erasing' | 'done';
  requestedAt: string;
  completedAt: string | null;
  objectsRemoved: number;
}

export interface ClientOptions {
  baseUrl: string;
  /** The bearer token of an account (sent only in the Authorization header); none for anonymous calls. */
  token?: string;
  fetch?: typeof fetch;
}

export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: '*';
}

export class PodstoreClient {
  readonly #base: string;
  readonly #fetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
  }

  readonly users = {
    put: async (username: string, profile: Profile, conditions: Conditions = {}): Promise<UserResult> => {
      const res = await this.#send(
        'PUT',
        userPath(username),
        profile,
        'application/json',
        conditionHeaders(conditions),
      );
      const etag = res.headers.get('etag');
      if (res.status !== 201) return { profile: (await res.json()) as Profile, etag, created: false };
      const body = (await res.json()) as { profile: Profile; token: string };
      return { profile: body.profile, etag, created: true, token: body.token };
    },
    get: async (username: string): Promise<UserResult> => {
      const res = await this.#send('GET', userPath(username));
      return { profile: (await res.json()) as Profile, etag: res.headers.get('etag') };
    },
    patch: async (username: string, patch: Profile, conditions: Conditions = {}): Promise<UserResult> => {
      const res = await this.#send(
        'PATCH',
        userPath(username),
        patch,
        'application/merge-patch+json',
        conditionHeaders(conditions),
      );
      return { profile: (await res.json()) as Profile, etag: res.headers.get('etag') };
    },
    /**
     * Deletes the account and erases its pod: null once erased (204), else the status of the erasure
     * still going on (202; follow it with `erasures.get`).
     */
    delete: async (username: string, conditions: Conditions = {}): Promise<ErasureStatus | null> => {
      const res = await this.#send(
        'DELETE',
        userPath(username),
        undefined,
        undefined,
        conditionHeaders(conditions),
      );
      return res.status === 202 ? ((await res.json()) as ErasureStatus) : null;
    },
  };

  readonly erasures = {
    /** The status of an account erasure, by the id a 202 answer to DELETE gave (no token needed). */
    get: async (id: string): Promise<ErasureStatus> =>
      (await this.#send('GET', `/v1/erasures/${encodeURIComponent(id)}`)).json() as Promise<ErasureStatus>,
  };

  readonly tokens = {
    /** Issues a token for `username` (the caller's own account); the secret is in the answer only. */
    issue: async (
      username: string,
      options: { label?: string; expiresAt?: string } = {},
    ): Promise<TokenInfo & { token: string }> =>
      (await (
        await this.#send('POST', `${userPath(username)}/tokens`, options, 'application/json')
      ).json()) as TokenInfo & {
        token: string;
      },
    list: async (username: string): Promise<TokenInfo[]> =>
      ((await (await this.#send('GET', `${userPath(username)}/tokens`)).json()) as { tokens: TokenInfo[] })
        .tokens,
    revoke: async (username: string, id: string): Promise<void> => {
      await this.#send('DELETE', `${userPath(username)}/tokens/${encodeURIComponent(id)}`);
    },
  };

  readonly grants = {
    /** Sets one scope of `grantee`'s access to `owner`'s pod (no modes: removes that scope). */
    set: async (
      owner: string,
      grantee: string,
      entry: GrantEntry,
    ): Promise<{ grantee: string; entries: GrantEntry[] }> =>
      (await (
        await this.#send('PUT', `${userPath(owner)}/grants/${grantee}`, entry, 'application/json')
      ).json()) as {
        grantee: string;
        entries: GrantEntry[];
      },
    get: async (owner: string, grantee: string): Promise<{ grantee: string; entries: GrantEntry[] }> =>
      (await (await this.#send('GET', `${userPath(owner)}/grants/${grantee}`)).json()) as {
        grantee: string;
        entries: GrantEntry[];
      },
    list: async (owner: string): Promise<{ grantee: string; entries: GrantEntry[] }[]> =>
      (
        (await (await this.#send('GET', `${userPath(owner)}/grants`)).json()) as {
          grants: { grantee: string; entries: GrantEntry[] }[];
        }
      ).grants,
    revoke: async (owner: string, grantee: string): Promise<void> => {
      await this.#send('DELETE', `${userPath(owner)}/grants/${grantee}`);
    },
  };

  readonly quota = {
    /** The account's usage and limits (the user, or the operator). */
    get: async (username: string): Promise<QuotaUsage> =>
      (await (await this.#send('GET', `${userPath(username)}/quota`)).json()) as QuotaUsage,
    /** The operator's override; null returns a limit to the default. */
    set: async (
      username: string,
      limits: { bytes?: number | null; files?: number | null },
    ): Promise<QuotaUsage> =>
      (await (
        await this.#send('PUT', `${userPath(username)}/quota`, limits, 'application/json')
      ).json()) as QuotaUsage,
    /** The operator: count the pod's usage again from its objects. */
    recount: async (username: string): Promise<QuotaUsage> =>
      (await (await this.#send('POST', `${userPath(username)}/quota/recount`)).json()) as QuotaUsage,
  };

  /**
   * Searches `owner`'s pod: the owner all of it, a grantee only what it may read. Hits best first, at
   * most `limit` (1 to 50, default 20); each snippet marks its matched words by offsets, never markup.
   */
  async search(owner: string, q: string, options: { limit?: number } = {}): Promise<SearchAnswer> {
    const query = new URLSearchParams({ q });
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return (await (await this.#send('GET', `${userPath(owner)}/search?${query}`)).json()) as SearchAnswer;
  }

  /** The owner's audit log, newest first. */
  async audit(
    owner: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ entries: object[]; next: string | null }> {
    const query = new URLSearchParams();
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return (await (await this.#send('GET', `${userPath(owner)}/audit${suffix}`)).json()) as {
      entries: object[];
      next: string | null;
    };
  }

  readonly files = {
    /** Uploads `body` (streamed) to `owner`'s pod at `path`. */
    put: async (
      owner: string,
      path: string,
      body: UploadBody,
      options: UploadOptions = {},
    ): Promise<FileInfo & { created: boolean }> => {
      const res = await this.#send(
        'PUT',
        filePath(owner, path),
        toRequestBody(body, options.onProgress),
        options.contentType ?? 'application/octet-stream',
        {
          ...conditionHeaders(options),
          ...(options.size === undefined ? {} : { 'content-length': String(options.size) }),
        },
      );
      return { ...((await res.json()) as FileInfo), created: res.status === 201 };
    },
    /** Creates a file with a server-chosen name in folder `dir` (`''` is the root); resolves to its path. */
    create: async (
      owner: string,
      dir: string,
      body: UploadBody,
      options: UploadOptions & { slug?: string } = {},
    ): Promise<FileInfo> => {
      const folder = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
      const res = await this.#send(
        'POST',
        filePath(owner, folder),
        toRequestBody(body, options.onProgress),
        options.contentType ?? 'application/octet-stream',
        {
          ...(options.slug === undefined ? {} : { slug: options.slug }),
        },
      );
      return (await res.json()) as FileInfo;
    },
    /** Opens a download; the body is a web ReadableStream. `range` is an HTTP Range value. */
    get: async (owner: string, path: string, options: { range?: string } = {}): Promise<Download> => {
      const res = await this.#send(
        'GET',
        filePath(owner, path),
        undefined,
        undefined,
        options.range ? { range: options.range } : {},
      );
      if (res.body === null)
        throw new PodstoreError(
          res.status,
          undefined,
          res.headers.get('x-request-id'),
          res.headers.get('retry-after'),
        );
      return {
        status: res.status,
        size: Number(res.headers.get('content-length') ?? 0),
        contentType: res.headers.get('content-type') ?? 'application/octet-stream',
        etag: res.headers.get('etag'),
        body: res.body,
      };
    },
    /**
     * Sends a local file resumably (tus, client/resumable-upload.ts): a run that was interrupted — a
     * dropped network, a killed process — goes on from the byte the server has when run again.
     */
    upload: async (
      owner: string,
      path: string,
      localFile: string,
      options: ResumableUploadOptions = {},
    ): Promise<FileInfo & { resumed: boolean }> => {
      let result: { resumed: boolean };
      try {
        result = await resumableUpload(
          { baseUrl: this.#base, token: this.options.token },
          owner,
          path,
          localFile,
          options,
        );
      } catch (error) {
        if (!(error instanceof ResumableUploadError) || error.status === 0) throw error;
        throw new PodstoreError(
          error.status,
          error.problem as Problem | undefined,
          error.requestId,
          error.retryAfter,
        );
      }
      return { ...(await this.files.stat(owner, path)), resumed: result.resumed };
    },
    stat: async (owner: string, path: string): Promise<FileInfo> =>
      (await (await this.#send('GET', `${filePath(owner, path)}?metadata`)).json()) as FileInfo,
    list: async (
      owner: string,
      dir = '',
      options: { cursor?: string; limit?: number } = {},
    ): Promise<FolderPage> => {
      const folder = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
      const query = new URLSearchParams();
      if (options.cursor !== undefined) query.set('cursor', options.cursor);
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      const suffix = query.size > 0 ? `?${query}` : '';
      return (await (await this.#send('GET', `${filePath(owner, folder)}${suffix}`)).json()) as FolderPage;
    },
    patch: async (
      owner: string,
      path: string,
      patch: { tags?: string[] | null; description?: string | null },
      conditions: Conditions = {},
    ): Promise<FileInfo> =>
      (await (
        await this.#send(
          'PATCH',
          filePath(owner, path),
          patch,
          'application/merge-patch+json',
          conditionHeaders(conditions),
        )
      ).json()) as FileInfo,
    delete: async (owner: string, path: string, conditions: Conditions = {}): Promise<void> => {
      await this.#send('DELETE', filePath(owner, path), undefined, undefined, conditionHeaders(conditions));
    },
  };

  /** `ALIVE <hostname>` when the api process runs. */
  async health(): Promise<string> {
    return (await this.#send('GET', '/healthz')).text();
  }

  /** Resolves when the api can serve (broker answers, a worker serves users); throws PodstoreError 503 otherwise. */
  async ready(): Promise<{ status: string; workers: number }> {
    return (await (await this.#send('GET', '/readyz')).json()) as { status: string; workers: number };
  }

  async #send(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const all: Record<string, string> = { accept: 'application/json', ...headers };
    if (contentType !== undefined) all['content-type'] = contentType;
    if (this.options.token !== undefined) all.authorization = `Bearer ${this.options.token}`;
    const payload = body === undefined ? undefined : isStreamBody(body) ? body : JSON.stringify(body);
    const res = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers: all,
      ...(payload === undefined ? {} : { body: payload as RequestInit['body'] }),
      ...(isStreamBody(body) ? { duplex: 'half' } : {}),
    } as RequestInit);
    if (res.ok) return res;
    let problem: Problem | undefined;
    try {
      problem = (await res.json()) as Problem;
    } catch {
      problem = undefined;
    }
    throw new PodstoreError(
      res.status,
      problem,
      res.headers.get('x-request-id'),
      res.headers.get('retry-after'),
    );
  }
}

const userPath = (username: string) => `/v1/users/${encodeURIComponent(username)}`;
const filePath = (owner: string, path: string) =>
  `${userPath(owner)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;

export type { FileInfo } from '../protocol/file-info.ts';
export type { SearchAnswer, SearchHit, Snippet } from '../protocol/search.ts';

export interface FolderPage {
  path: string;
  items: {
    name: string;
    kind: 'file' | 'folder';
    size?: number;
    contentType?: string;
    updatedAt?: string;
    etag?: string;
  }[];
  next: string | null;
}

export interface Download {
  status: number;
  size: number;
  contentType: string;
  etag: string | null;
  body: ReadableStream<Uint8Array>;
}

/** A body to upload: bytes, a Node readable stream, or a web ReadableStream. */
export type UploadBody = Buffer | Uint8Array | string | NodeJS.ReadableStream | ReadableStream<Uint8Array>;

export interface UploadOptions extends Conditions {
  contentType?: string;
  /** Declares the length up front (lets the server refuse an oversized file at once). */
  size?: number;
  /** Called with the bytes sent so far. */
  onProgress?: (sent: number) => void;
}

function isStreamBody(body: unknown): body is ReadableStream | Buffer | Uint8Array | string {
  return body instanceof ReadableStream || body instanceof Uint8Array || typeof body === 'string';
}

/** Turns any upload body into a web stream (or bytes) that fetch sends, counting progress. */
function toRequestBody(
  body: UploadBody,
  onProgress?: (sent: number) => void,
): ReadableStream<Uint8Array> | Uint8Array | string {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    onProgress?.(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
    return body;
  }
  const web =
    body instanceof ReadableStream
      ? body
      : (Readable.toWeb(Readable.from(body as NodeJS.ReadableStream)) as ReadableStream<Uint8Array>);
  if (onProgress === undefined) return web;
  let sent = 0;
  return web.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.length;
        onProgress(sent);
        controller.enqueue(chunk);
      },
    }),
  );
}

function conditionHeaders(conditions: Conditions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (conditions.ifMatch !== undefined) headers['if-match'] = conditions.ifMatch;
  if (conditions.ifNoneMatch !== undefined) headers['if-none-match'] = conditions.ifNoneMatch;
  return headers;
}
