/**
 * A typed client for podstore's REST API, on the platform's fetch. Errors come back as PodstoreError
 * carrying the problem+json document the server sent.
 */

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

export class PodstoreError extends Error {
  override name = 'PodstoreError';
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly requestId: string | null,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
  }
}

export type Profile = Record<string, unknown>;

export interface UserResult {
  profile: Profile;
  etag: string | null;
  /** True when PUT created the user (201), false when it replaced the profile (200). */
  created?: boolean;
}

export interface ClientOptions {
  baseUrl: string;
  /** Bearer token, once accounts land. */
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
      return {
        profile: (await res.json()) as Profile,
        etag: res.headers.get('etag'),
        created: res.status === 201,
      };
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
    delete: async (username: string, conditions: Conditions = {}): Promise<void> => {
      await this.#send('DELETE', userPath(username), undefined, undefined, conditionHeaders(conditions));
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
    const res = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers: all,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.ok) return res;
    let problem: Problem | undefined;
    try {
      problem = (await res.json()) as Problem;
    } catch {
      problem = undefined;
    }
    throw new PodstoreError(res.status, problem, res.headers.get('x-request-id'));
  }
}

const userPath = (username: string) => `/v1/users/${encodeURIComponent(username)}`;

function conditionHeaders(conditions: Conditions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (conditions.ifMatch !== undefined) headers['if-match'] = conditions.ifMatch;
  if (conditions.ifNoneMatch !== undefined) headers['if-none-match'] = conditions.ifNoneMatch;
  return headers;
}
