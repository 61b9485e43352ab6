/**
 * The api's JSON body parser (application/json and application/merge-patch+json): fastify's own, which
 * refuses `__proto__` and `constructor` keys, behind a nesting-depth check of the raw text, so a deeply
 * nested body is a 400 before anything recursive sees it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonDepthRule, jsonTextTooDeep } from '../protocol/json-depth.ts';
import { HttpProblem } from './problem.ts';

type Done = (error: Error | null, body?: unknown) => void;

export function depthLimitedJsonParser(app: FastifyInstance, maxDepth: number) {
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request: FastifyRequest, body: string | Buffer, done: Done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonTextTooDeep(text, maxDepth)) {
      done(new HttpProblem(400, `the body nests too deeply: ${jsonDepthRule(maxDepth)}`));
      return;
    }
    // Callback style: it answers through `done`, never through the promise its type allows.
    void parse(request, text, done);
  };
}
