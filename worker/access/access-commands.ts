/** The `access` service's commands: grants of a pod, and its audit log (owner only). */

import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import type { IncarnationReader } from '../users/incarnation.ts';
import type { AccessService } from './access-service.ts';
import type { AuditLog } from './audit-log.ts';
import type { GrantsService } from './grants-service.ts';

export const ACCESS_SERVICE = SERVICES.access;

export function registerAccessCommands(
  router: CommandRouter,
  grants: GrantsService,
  audit: AuditLog,
  access: AccessService,
  accountSince: (name: string) => Promise<string | undefined>,
  accounts: IncarnationReader,
): void {
  router
    .register('access.view', async (args, ctx) => {
      // What of a pod the caller may watch: all of it (the owner), or the scopes it can read, and since
      // when. Without any, the pod is as good as missing. Events are shown only of the owner's current
      // account (its incarnation), and to a grantee only from when it got the scope and had its account.
      const owner = args.owner;
      const missing = new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner}`);
      const [holding, account] = await Promise.all([
        access.holding(ctx.actor, owner),
        accounts.current(owner),
      ]);
      if (account === undefined) throw missing;
      const ofOwner = { incarnation: account.id, ownerSince: account.createdAt };
      if (holding.owner) return { all: true, scopes: [], ...ofOwner };
      const now = Date.now();
      const entries = holding.entries.filter(
        (e) => e.modes.includes('read') && (e.expiresAt === undefined || Date.parse(e.expiresAt) > now),
      );
      if (entries.length === 0) throw missing;
      const watcherSince = ctx.actor === null ? undefined : await accountSince(ctx.actor);
      const scopeSince: Record<string, string> = {};
      for (const entry of entries) {
        const granted = (entry as { grantedAt?: string }).grantedAt;
        scopeSince[entry.scope] = latest(latest(granted, watcherSince), account.createdAt) as string;
      }
      return { all: false, scopes: entries.map((e) => e.scope), scopeSince, ...ofOwner };
    })
    .register('grants.put', async (args, ctx) =>
      grants.put(ctx.actor, args.owner, args.grantee, args.grant, ctx.requestId),
    )
    .register('grants.get', async (args, ctx) => grants.get(ctx.actor, args.owner, args.grantee))
    .register('grants.list', async (args, ctx) => grants.list(ctx.actor, args.owner))
    .register('grants.delete', async (args, ctx) => {
      await grants.revoke(ctx.actor, args.owner, args.grantee, ctx.requestId);
      return null;
    })
    .register('audit.list', async (args, ctx) => {
      const owner = args.owner;
      if (ctx.actor !== owner)
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the owner reads the audit log of a pod');
      return audit.list(owner, {
        ...(typeof args.cursor === 'string' ? { cursor: args.cursor } : {}),
        ...(typeof args.limit === 'number' ? { limit: args.limit } : {}),
      });
    });
}

/** The later of two ISO times (either may be missing). */
function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
