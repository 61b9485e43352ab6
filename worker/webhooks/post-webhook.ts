/**
 * One webhook delivery attempt: POST the body to the URL, connecting to the address the SSRF guard
 * checked (never resolving the host again), following no redirect, within a deadline. Resolves to the
 * receiver's status or the reason there was none; never rejects.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { PinnedAddress } from './ssrf-guard.ts';

export interface PostResult {
  status?: number;
  error?: string;
}

function pinnedLookup(pinned: PinnedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

export function postWebhook(
  url: URL,
  pinned: PinnedAddress,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const done = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        agent: false,
        lookup: pinnedLookup(pinned),
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (response) => {
        done({ status: response.statusCode ?? 0 });
        response.destroy(); // the answer's body is not read
      },
    );
    const timer = setTimeout(() => {
      done({ error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on('error', (err) => done({ error: err.message }));
    request.end(body);
  });
}
