/** Webhook signatures and the retry schedule. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../../worker/webhooks/retry-delay.ts';
import {
  SIGNATURE_TOLERANCE_S,
  signatureOf,
  signedHeaders,
  verifySignature,
} from '../../worker/webhooks/signature.ts';

describe('signature', () => {
  const secret = 'a-secret-of-16-chars';
  const body = Buffer.from('{"kind":"user.patched","owner":"alice"}');
  const now = Date.UTC(2026, 10, 30, 12, 0, 0);
  const ts = now / 1000;

  it('is sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret>', () => {
    const hex = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    expect(signatureOf(secret, ts, body)).toBe(`sha256=${hex}`);
    expect(signatureOf(secret, ts, body.toString())).toBe(`sha256=${hex}`);
    expect(signedHeaders(secret, body, now + 999)).toEqual({
      'x-podstore-timestamp': String(ts),
      'x-podstore-signature': `sha256=${hex}`,
    });
  });

  it('binds the signature to its timestamp: the body signed at another time does not verify', () => {
    const signature = signatureOf(secret, ts, body);
    expect(verifySignature(secret, body, { timestamp: String(ts), signature }, now)).toBe(true);
    expect(verifySignature(secret, body, { timestamp: String(ts + 1), signature }, now)).toBe(false);
    // The old scheme (HMAC of the body alone) no longer verifies.
    const bodyOnly = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(verifySignature(secret, body, { timestamp: String(ts), signature: bodyOnly }, now)).toBe(false);
  });

  it('refuses a replay outside the tolerance, either side of the clock', () => {
    const headers = { timestamp: String(ts), signature: signatureOf(secret, ts, body) };
    const tolerance = SIGNATURE_TOLERANCE_S * 1000;
    expect(verifySignature(secret, body, headers, now + tolerance)).toBe(true);
    expect(verifySignature(secret, body, headers, now + tolerance + 1000)).toBe(false);
    expect(verifySignature(secret, body, headers, now - tolerance - 1000)).toBe(false);
    expect(verifySignature(secret, body, headers, now + 60_000, 30)).toBe(false);
  });

  it('verifies the right signature only', () => {
    const signature = signatureOf(secret, ts, body);
    const timestamp = String(ts);
    expect(verifySignature(secret, body, { timestamp, signature: ` ${signature} ` }, now)).toBe(true);
    expect(verifySignature('another-secret-16', body, { timestamp, signature }, now)).toBe(false);
    expect(verifySignature(secret, Buffer.from(`${body} `), { timestamp, signature }, now)).toBe(false);
    expect(verifySignature(secret, body, { timestamp, signature: signature.slice(0, -1) }, now)).toBe(false);
    expect(verifySignature(secret, body, { timestamp, signature: undefined }, now)).toBe(false);
    expect(verifySignature(secret, body, { timestamp: undefined, signature }, now)).toBe(false);
    expect(verifySignature(secret, body, { timestamp: `${ts}.5`, signature }, now)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('starts at the base and grows four-fold, up to an hour', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000))).toEqual([1000, 4000, 16_000, 64_000]);
    expect(retryDelayMs(20, 1000)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(0, 250)).toBe(250);
  });
});
