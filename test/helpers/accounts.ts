/**
 * Accounts for tests: sign a user up through the HTTP API and get the token shown once, and the header
 * that carries it. Every request to a pod needs such a token.
 */
export async function signUp(baseUrl: string, username: string, profile: object = {}): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/users/${username}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(profile),
  });
  if (res.status !== 201) throw new Error(`sign-up of ${username}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token?: unknown };
  return typeof body.token === 'string' ? body.token : '';
}

/** `{authorization: 'Bearer …'}` for a token from signUp. */
export function bearer(token: string): Record<string, string> {
  return token === '' ? {} : { authorization: `Bearer ${token}` };
}

/**
 * A fetch that acts as the user whose pod or account a URL names (`/v1/users/<name>/...`), with the
 * token that user got at sign-up: sign-ups made through it are remembered. `as` overrides the user.
 */
export class ActingFetch {
  readonly tokens = new Map<string, string>();

  readonly fetch = async (
    url: string,
    init: RequestInit & { as?: string | null } = {},
  ): Promise<Response> => {
    const { as, ...rest } = init;
    const named = /\/v1\/users\/([^/?#]+)/.exec(url)?.[1];
    const user = as === undefined ? named : as;
    const token = user === null || user === undefined ? undefined : this.tokens.get(user);
    const headers = {
      ...(token === undefined ? {} : bearer(token)),
      ...(rest.headers as Record<string, string> | undefined),
    };
    const res = await fetch(url, { ...rest, headers });
    const account = named !== undefined && new URL(url).pathname === `/v1/users/${named}`;
    if (account && rest.method === 'DELETE' && res.status === 204) this.tokens.delete(named);
    const signUp = account && rest.method === 'PUT';
    if (signUp && res.status === 201) {
      const body = (await res.clone().json()) as { token?: string };
      if (typeof body.token === 'string') this.tokens.set(named, body.token);
    }
    return res;
  };
}
