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

/** Largest file, in bytes, unless MAX_FILE_BYTES says otherwise. */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 ** 3;

/** Longest file path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;
/** Longest path segment, in UTF-8 bytes (S3 servers such as MinIO refuse longer key segments). */
export const MAX_SEGMENT_BYTES = 255;

/**
 * Why `path` is not a valid file path, or undefined if it is: UTF-8 segments separated by `/`, no
 * empty, `.` or `..` segment, no control character, at most 1024 bytes (255 per segment).
 */
export function filePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `a path is at most ${MAX_PATH_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'a path may not contain control characters';
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(path)) {
    return 'a path must be valid UTF-8';
  }
  for (const segment of path.split('/')) {
    if (segment === '') return 'a path may not have empty segments (no leading, trailing or double "/")';
    if (segment === '.' || segment === '..') return 'a path may not have "." or ".." segments';
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
      return `a path segment is at most ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}
