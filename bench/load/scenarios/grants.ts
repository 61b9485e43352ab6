/**
 * The grant step of the `mixed` scenario, on its own: an owner lets a third party (a hospital, say)
 * append to their `/inbox/`. A server without grants yet (the route does not exist: 404 "no route")
 * answers `unsupported`, and the scenario then skips third-party appends, saying so.
 */
import { authHeader, type LoadUser } from '../accounts.ts';

export const APPEND_GRANT = { modes: ['append'], scope: '/inbox/' } as const;

export type GrantOutcome = 'granted' | 'unsupported';

export async function grantAppend(baseUrl: string, owner: LoadUser, grantee: string): Promise<GrantOutcome> {
  const res = await fetch(`${baseUrl}/v1/users/${owner.name}/grants/${grantee}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...authHeader(owner.token) },
    body: JSON.stringify(APPEND_GRANT),
  });
  const text = await res.text();
  if (res.ok) return 'granted';
  if (res.status === 404 && /no route/i.test(text)) return 'unsupported';
  throw new Error(`grant of append on ${owner.name}/inbox/ to ${grantee}: ${res.status} ${text}`);
}
