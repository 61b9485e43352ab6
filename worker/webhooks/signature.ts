/**
 * Webhook signatures, bound to the moment of sending so a captured delivery cannot be replayed later:
 *
 *   X-Podstore-Timestamp: <unix seconds when this attempt was sent>
 *   X-Podstore-Signature: sha256=<hex HMAC-SHA256 over `<timestamp>.<raw body>`, keyed with the secret>
 *
 * (the scheme of Stripe and Standard Webhooks). Every attempt, retries included, is signed afresh. A
 * receiver recomputes the HMAC over the timestamp header, a `.` and the bytes it received, compares in
 * constant time, and refuses a timestamp more than its tolerance (SIGNATURE_TOLERANCE_S, 5 minutes, is
 * the recommended one) away from its own clock; within the tolerance, the event id
 * (X-Podstore-Event-Id) tells a repeat it already handled. `verifySignature` is that receiver check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-podstore-signature';
export const TIMESTAMP_HEADER = 'x-podstore-timestamp';
/** The tolerance a receiver should allow between the timestamp and its clock, in seconds. */
export const SIGNATURE_TOLERANCE_S = 300;

/** `sha256=<hex>` of `<timestamp>.<body>`. */
export function signatureOf(secret: string, timestamp: number, body: Buffer | string): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(body);
  return `sha256=${hmac.digest('hex')}`;
}

/** The two headers of one delivery attempt sent at `now` (ms). */
export function signedHeaders(secret: string, body: Buffer, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signatureOf(secret, timestamp, body) };
}

/**
 * The receiver's check: the signature matches `<timestamp>.<body>` and the timestamp is within
 * `toleranceS` of `now` (ms).
 */
export function verifySignature(
  secret: string,
  body: Buffer | string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  now = Date.now(),
  toleranceS = SIGNATURE_TOLERANCE_S,
): boolean {
  const { timestamp, signature } = headers;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp.trim()))
    return false;
  const seconds = Number(timestamp.trim());
  if (Math.abs(now / 1000 - seconds) > toleranceS) return false;
  const expected = Buffer.from(signatureOf(secret, seconds, body));
  const given = Buffer.from(signature.trim());
  return expected.length === given.length && timingSafeEqual(expected, given);
}
