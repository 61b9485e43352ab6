/**
 * The load run's own users: signed up under fresh names (`load-<run>-<i>`), each with the token the
 * sign-up answered (none before authentication existed), and an SDK client that sends it. Removed at
 * the end with their pods.
 */
import { randomBytes } from 'node:crypto';
import { PodstoreClient } from '../../client/sdk.ts';

export interface LoadUser {
  name: string;
  /** undefined on a server without accounts (the 201 carried no token). */
  token: string | undefined;
  client: PodstoreClient;
}

/** A fresh prefix per run, so that runs never collide: `load-1a2b3c4d`. */
export function runPrefix(): string {
  return `load-${randomBytes(4).toString('hex')}`;
}

/** `{authorization: 'Bearer …'}`, or nothing without a token. */
export function authHeader(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Signs `name` up (201 expected) and returns the user with the token shown once, if any. */
export async function signUp(
  baseUrl: string,
  name: string,
  profile: object,
  operatorToken?: string,
): Promise<LoadUser> {
  const res = await fetch(`${baseUrl}/v1/users/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...authHeader(operatorToken) },
    body: JSON.stringify(profile),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`sign-up of ${name}: ${res.status} ${text}`);
  const token = (JSON.parse(text) as { token?: unknown }).token;
  const own = typeof token === 'string' && token !== '' ? token : undefined;
  return {
    name,
    token: own,
    client: new PodstoreClient({ baseUrl, ...(own === undefined ? {} : { token: own }) }),
  };
}

/** Signs up `count` users `<prefix>-<i>`, a few at a time. */
export async function signUpMany(
  baseUrl: string,
  prefix: string,
  count: number,
  operatorToken?: string,
): Promise<LoadUser[]> {
  const users: LoadUser[] = new Array(count);
  await inBatches(count, 8, async (i) => {
    users[i] = await signUp(
      baseUrl,
      `${prefix}-${i}`,
      { firstName: 'Load', lastName: `User ${i}` },
      operatorToken,
    );
  });
  return users;
}

/** Deletes the users (and their pods); failures are ignored, this is clean-up. */
export async function removeUsers(users: LoadUser[]): Promise<void> {
  await inBatches(users.length, 8, async (i) => {
    await users[i]?.client.users.delete(users[i]?.name ?? '').catch(() => undefined);
  });
}

/** Runs `work(i)` for i in [0, count), at most `width` at once. */
export async function inBatches(count: number, width: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}
