/**
 * When an account was created, by name: what grants and audit entries are tied to, so that nothing of a
 * deleted account reaches a later one of the same name. Undefined only when there is no such account (or
 * the name cannot be one); a store that fails to answer is an error (answered 503), never "no account":
 * a look-up that failed must not deny a grant nor drop an audit entry.
 */
import { isValidUsername } from '../../protocol/names.ts';
import type { UserRecord } from './users-service.ts';

export type AccountSince = (name: string) => Promise<string | undefined>;

export function accountSinceOf(users: { find(name: string): Promise<UserRecord | undefined> }): AccountSince {
  return async (name) => (isValidUsername(name) ? (await users.find(name))?.createdAt : undefined);
}
