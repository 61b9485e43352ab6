/** The `access` service's commands: grants of a pod, and its audit log (owner only). */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import type { AccessService } from './access-service.ts';
import type { AuditLog } from './audit-log.ts';
import type { GrantsService } from './grants-service.ts';

export const ACCESS_SERVICE = 'access';

export function registerAccessCommands(
  router: CommandRouter,
  grants: GrantsService,
  audit: AuditLog,
  access: AccessService,
  accountSince: (name: string) => Promise<string | undefined>,
): void {
  router
    .register('access.view', async (args, ctx) => {
      // What of a pod the caller may watch: all of it (the owner), or the scopes it can read. Without any,
      // the pod is as good as missing.
      const owner = text(args, 'owner');
      const missing = new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner}`);
      const holding = await access.holding(ctx.actor, owner);
      if (holding.owner) {
        if ((await accountSince(owner)) === undefined) throw missing;
        return { all: true, scopes: [] };
      }
      const now = Date.now();
      const scopes = holding.entries
        .filter(
          (e) => e.modes.includes('read') && (e.expiresAt === undefined || Date.parse(e.expiresAt) > now),
        )
        .map((e) => e.scope);
      if (scopes.length === 0) throw missing;
      return { all: false, scopes };
    })
    .register('grants.put', async (args, ctx) =>
      grants.put(ctx.actor, text(args, 'owner'), text(args, 'grantee'), args.grant, ctx.requestId),
    )
    .register('grants.get', async (args, ctx) =>
      grants.get(ctx.actor, text(args, 'owner'), text(args, 'grantee')),
    )
    .register('grants.list', async (args, ctx) => grants.list(ctx.actor, text(args, 'owner')))
    .register('grants.delete', async (args, ctx) => {
      await grants.revoke(ctx.actor, text(args, 'owner'), text(args, 'grantee'), ctx.requestId);
      return null;
    })
    .register('audit.list', async (args, ctx) => {
      const owner = text(args, 'owner');
      if (ctx.actor !== owner)
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the owner reads the audit log of a pod');
      return audit.list(owner, {
        ...(typeof args.cursor === 'string' ? { cursor: args.cursor } : {}),
        ...(typeof args.limit === 'number' ? { limit: args.limit } : {}),
      });
    });
}

function text(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new CommandError(ErrorCode.INVALID, `${name} is required`);
  return value;
}
