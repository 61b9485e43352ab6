/**
 * The OpenAPI document at `GET /openapi.json`, and a rendered reference at `GET /docs` (swagger-ui,
 * its assets served from this process: no third-party request). /docs has its own Content-Security-Policy
 * (scripts, styles and images from this origin only, no inline script); every other route keeps the
 * baseline one (api/security-headers.ts).
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { DOCS_CSP } from '../security-headers.ts';
import { openApiOptions } from './document.ts';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** Registers the document generator; call before any route, so that it sees them all. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, openApiOptions);
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    uiConfig: { deepLinking: true, validatorUrl: null, tryItOutEnabled: false },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
}
