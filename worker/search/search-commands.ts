/** The search command (`search.query`), served by the `files` service: a read of the pod. */
import type { AccessService } from '../access/access-service.ts';
import type { CommandRouter } from '../command-router.ts';
import type { SearchService } from './search-service.ts';

export function registerSearchCommands(
  router: CommandRouter,
  search: SearchService,
  access: AccessService,
): void {
  router.register('search.query', async (args, ctx) =>
    access.audited(ctx.actor, args.owner, 'search', undefined, ctx.requestId, () =>
      search.query(ctx.actor, args.owner, args.q, args.limit),
    ),
  );
}
