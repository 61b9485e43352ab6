/**
 * Search of a pod: `GET /v1/users/{owner}/search?q=…&limit=…`. The query's limits are checked here (a
 * clear 400 before any work) and again by the worker, which decides what the caller may see.
 */
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_SEARCH_LIMIT,
  limitProblem,
  queryProblem,
  type SearchAnswer,
} from '../../protocol/search.ts';
import type { CallService } from '../call-service.ts';
import { HttpProblem } from '../problem.ts';
import { searchSchemas } from '../schemas/search.ts';

type SearchRequest = { Params: { owner: string }; Querystring: { q?: string; limit?: string } };

export function searchRoutes(call: CallService) {
  return async (app: FastifyInstance) => {
    app.get<SearchRequest>(
      '/v1/users/:owner/search',
      { schema: searchSchemas.query },
      async (request, reply) => {
        const q = request.query.q ?? '';
        const limit = request.query.limit === undefined ? DEFAULT_SEARCH_LIMIT : Number(request.query.limit);
        const problem = queryProblem(q) ?? limitProblem(limit);
        if (problem !== undefined) throw new HttpProblem(400, problem);
        const answer = await call<SearchAnswer>(
          request,
          'search.query',
          { owner: request.params.owner, q, limit },
          { idempotent: true },
        );
        return reply.header('cache-control', 'no-store').send(answer);
      },
    );
  };
}
