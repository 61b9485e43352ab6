/** Webhook signatures and the retry schedule. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../../worker/webhooks/retry-delay.ts';
import { signatureOf, verifySignature } from '../../worker/webhooks/signature.ts';

describe('signature', () => {
  const secret = 'a-secret-of-16-chars';
  const body = Buffer.from('{"kind":"user.patched","owner":"alice"}');

  it('is sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>', () => {
    const hex = createHmac('sha256', secret).update(body).digest('hex');
    expect(signatureOf(secret, body)).toBe(`sha256=${hex}`);
    expect(signatureOf(secret, body.toString())).toBe(`sha256=${hex}`);
  });

  it('verifies the right signature only', () => {
    const header = signatureOf(secret, body);
    expect(verifySignature(secret, body, header)).toBe(true);
    expect(verifySignature(secret, body, ` ${header} `)).toBe(true);
    expect(verifySignature('another-secret-16', body, header)).toBe(false);
    expect(verifySignature(secret, Buffer.from(`${body} `), header)).toBe(false);
    expect(verifySignature(secret, body, header.slice(0, -1))).toBe(false);
    expect(verifySignature(secret, body, undefined)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('starts at the base and grows four-fold, up to an hour', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000))).toEqual([1000, 4000, 16_000, 64_000]);
    expect(retryDelayMs(20, 1000)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(0, 250)).toBe(250);
  });
});
