/**
 * The api serves the web console at `/` and its hashed assets under `/assets/`, under the console's
 * strict CSP, without weakening the headers of the API's own routes; without a build it still starts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_MISSING } from '../../api/console/serve-console.ts';
import { BASELINE_SECURITY_HEADERS } from '../../api/security-headers.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

const INDEX =
  '<!doctype html><title>console</title><script type="module" src="/assets/index-abc123.js"></script>';
let dir: string;
let app: FastifyInstance;
let bare: FastifyInstance;

const noBroker = async () => {
  throw new Error('no broker in this test');
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-console-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log(1);');
  await writeFile(join(dir, 'secret.txt'), 'not an asset');
  app = (await appWithBroker({ call: noBroker, consoleDir: dir })).app;
  bare = (await appWithBroker({ call: noBroker, consoleDir: join(dir, 'missing') })).app;
});

afterAll(async () => {
  await app?.close();
  await bare?.close();
  await rm(dir, { recursive: true, force: true });
});

function cspDirectives(header: unknown): Map<string, string> {
  return new Map(
    String(header)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name as string, values.join(' ')]),
  );
}

describe('the web console served by the api', () => {
  it('serves index.html at / with a strict CSP, nosniff and no caching', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const csp = cspDirectives(res.headers['content-security-policy']);
    expect(csp.get('default-src')).toBe("'self'");
    expect(csp.get('script-src')).toBe("'self'");
    expect(csp.get('connect-src')).toBe("'self'");
    expect(csp.get('img-src')).toBe("'self' blob:");
    expect(csp.get('frame-ancestors')).toBe("'none'");
    expect(csp.get('object-src')).toBe("'none'");
    expect(String(res.headers['content-security-policy'])).not.toMatch(/unsafe-|data:|\*/);
  });

  it('serves hashed assets with long, immutable caching and the same CSP', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log(1);');
    expect(res.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(cspDirectives(res.headers['content-security-policy']).get('default-src')).toBe("'self'");
  });

  it('serves nothing else of the disk: other files, traversal and unknown assets are 404 problems', async () => {
    for (const url of [
      '/secret.txt',
      '/index.html/../secret.txt',
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/nope.js',
      '/assets/',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.body, url).not.toContain('not an asset');
      expect(res.headers['x-request-id'], url).toBeTruthy();
    }
  });

  it('leaves the API routes under their own headers (nothing loaded, never framed)', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['content-security-policy']).toBe(BASELINE_SECURITY_HEADERS['content-security-policy']);
  });

  it('starts without a build, and / explains how to build it (404 problem+json)', async () => {
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().detail).toBe(CONSOLE_MISSING);
    expect(res.headers['x-request-id']).toBeTruthy();
    expect((await bare.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
