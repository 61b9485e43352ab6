/**
 * The web console (console/, built into console/dist by `npm run build:console`), served by the api on
 * its own origin: `GET /` is its index.html (never cached: it names the current assets), `/assets/*` its
 * content-hashed files (cached for a year, immutable). Both under the console's CSP (CONSOLE_CSP) with
 * nosniff. When the build is missing the api still serves the API, and `/` says how to build it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../problem.ts';
import { CONSOLE_CSP } from '../security-headers.ts';

/** Beside the api's code: <repo>/console/dist from api/console/, and dist/console/dist in the image. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

export const CONSOLE_MISSING =
  'the web console is not built: run `npm run build:console` (npm install and npm start do it), or set CONSOLE_DIR to a built console';

export function consoleDirOf(setting: string): string {
  return setting === '' ? DEFAULT_CONSOLE_DIR : setting;
}

/** The console is a page, not part of the API: kept out of the OpenAPI document. */
const HIDDEN = { hide: true };

export function consoleRoutes(dir: string) {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cross-origin-opener-policy', 'same-origin');
    });

    const indexFile = join(dir, 'index.html');
    if (!existsSync(indexFile)) {
      app.get('/', { schema: HIDDEN }, async () => {
        throw new HttpProblem(404, CONSOLE_MISSING);
      });
      return;
    }
    // Read once: the build does not change under a running api.
    const index = await readFile(indexFile);
    app.get('/', { schema: HIDDEN }, async (_request, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(index),
    );
    const assets = join(dir, 'assets');
    if (existsSync(assets)) {
      await app.register(fastifyStatic, {
        root: assets,
        prefix: '/assets/',
        // Only the files there at start-up, each a route of its own: nothing else of the disk is reachable.
        wildcard: false,
        index: false,
        dotfiles: 'deny',
        decorateReply: false,
        cacheControl: true,
        maxAge: '365d',
        immutable: true,
        etag: true,
        lastModified: false,
      });
    }
  };
}
