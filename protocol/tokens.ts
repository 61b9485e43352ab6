/**
 * Access tokens: `pst_` and 43 base64url characters (256 random bits). The api checks the shape before
 * any broker round trip and sends only the SHA-256 of a token to the workers; stores keep only hashes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'pst_';
const TOKEN_RE = /^pst_[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_RE.test(token);
}

/** Hex SHA-256 of a token: the only form in which a token leaves the api. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time equality of two hex hashes. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The actor the api passes for the operator's admin token (not a valid username, so never a user). */
export const ADMIN_ACTOR = '@admin';
