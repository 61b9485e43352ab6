/**
 * Rules for names that api and worker both check (the api to answer 400 early, the worker because it
 * trusts no caller).
 */

/** 2–63 of a–z, 0–9 and `-`, starting and ending with a letter or digit (a DNS label, lower-case). */
export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$';
const usernameRe = new RegExp(USERNAME_PATTERN);

export function isValidUsername(name: string): boolean {
  return usernameRe.test(name);
}

export const USERNAME_RULE =
  'a username is 2 to 63 characters of lower-case letters, digits and "-", starting and ending with a letter or digit';

/** Largest accepted user profile, as serialized JSON. */
export const MAX_PROFILE_BYTES = 64 * 1024;
