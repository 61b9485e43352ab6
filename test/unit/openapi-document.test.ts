/**
 * The OpenAPI document (GET /openapi.json) is generated from the routes' own schemas: every route the
 * api serves is in it with its statuses and problem answers, the bearer scheme, every problem code;
 * and /docs renders it from assets of this origin only, under its own Content-Security-Policy.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../../protocol/problem-types.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { in: string; name: string }[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties: { code: { enum: string[] } } }>;
    securitySchemes: object;
  };
  security: unknown[];
};

let app: FastifyInstance;
let doc: Document;

beforeAll(async () => {
  ({ app } = await appWithBroker({ call: async () => ({ ok: true, value: null }) as never }));
  await app.ready();
  doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as Document;
});
afterAll(async () => {
  await app.close();
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the bearer scheme as the default security', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('describes only routes the api serves, the files HEAD included', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
    );
    expect(operations.length).toBe(37);
    for (const { method, path } of operations) {
      const url = path.replace(/\{path\}$/, '*').replace(/\{([^}]+)\}/g, ':$1');
      // The router merges :username and :owner; either name finds the route.
      const served = [url, url.replace(':username', ':owner'), url.replace(':owner', ':username')].some(
        (candidate) => app.hasRoute({ method: method as 'GET', url: candidate }),
      );
      expect(served, `${method} ${path}`).toBe(true);
    }
  });

  // Every route the api serves is in the document (@fastify/swagger sees each one registered after it;
  // only /docs and /openapi.json hide themselves), so a route added without schemas fails here.
  it('names each operation, and answers every refusal of it with the Problem document', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        expect(op.operationId, where).toMatch(/^[a-zA-Z-]+$/);
        const statuses = Object.keys(op.responses);
        expect(statuses, where).toEqual(expect.arrayContaining(['400', '500', '503']));
        expect(
          statuses.some((s) => s.startsWith('2')),
          where,
        ).toBe(true);
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(
            op.responses[status]?.content?.['application/problem+json']?.schema,
            `${where} ${status}`,
          ).toEqual({
            $ref: '#/components/schemas/Problem',
          });
        }
      }
    }
  });

  it('documents the statuses, headers and parameters of the file and account routes', () => {
    const files = doc.paths['/v1/users/{owner}/files/{path}'] ?? {};
    const statuses = (op: Operation | undefined) => Object.keys(op?.responses ?? {});
    expect(statuses(files.get)).toEqual(
      expect.arrayContaining(['200', '206', '304', '401', '404', '412', '416']),
    );
    expect(statuses(files.put)).toEqual(expect.arrayContaining(['200', '201', '409', '412', '413', '507']));
    expect(statuses(files.head)).toEqual(expect.arrayContaining(['200', '304']));
    const headers = (op: Operation | undefined) =>
      (op?.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers(files.get)).toEqual(expect.arrayContaining(['range', 'if-match', 'if-none-match']));
    expect(headers(files.post)).toEqual(expect.arrayContaining(['slug', 'idempotency-key']));
    const user = doc.paths['/v1/users/{username}'] ?? {};
    expect(statuses(user.put)).toEqual(expect.arrayContaining(['200', '201', '409', '412', '415']));
    expect(statuses(user.delete)).toEqual(expect.arrayContaining(['202', '204']));
    expect(user.put?.security).toEqual([{}, { bearer: [] }]);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
  });

  it('describes each Server-Sent Event of the events stream, its data a pod event (found by the fuzz test)', () => {
    const stream =
      doc.paths['/v1/users/{owner}/events']?.get?.responses['200']?.content?.['text/event-stream'];
    expect(stream?.schema).toMatchObject({
      type: 'object',
      required: ['data'],
      properties: {
        data: {
          type: 'string',
          contentMediaType: 'application/json',
          contentSchema: { required: expect.arrayContaining(['kind', 'seq']) },
        },
      },
    });
  });

  it('lists every problem code in the Problem schema', () => {
    expect(doc.components.schemas.Problem?.properties.code.enum.sort()).toEqual(
      Object.keys(PROBLEM_CODES).sort(),
    );
  });
});

describe('/docs', () => {
  it('answers HTML whose every asset loads from this origin, under its own CSP', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset, asset).toMatch(/^\/docs\//);
      const answer = await app.inject({ method: 'GET', url: asset });
      expect(answer.statusCode, asset).toBe(200);
    }
    const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    // The UI fetches the document from here and sends nothing to a validator service.
    expect(initializer.body).toContain("url: resolveUrl('./json')");
    expect(initializer.body).toContain('validatorUrl: null');
  });

  it('leaves the api routes under the baseline CSP', async () => {
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });
});
