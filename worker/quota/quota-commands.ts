/**
 * The quota commands (served with the `users` service): an account's usage and limits for its user and
 * the operator; overrides and recounts for the operator only. Anyone else gets 404, as for a profile.
 */
import { isValidUsername, USERNAME_RULE } from '../../protocol/names.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { ADMIN_ACTOR } from '../../protocol/tokens.ts';
import type { CommandContext, CommandRouter } from '../command-router.ts';
import type { UsageLedger } from './usage-ledger.ts';

export function registerQuotaCommands(
  router: CommandRouter,
  ledger: UsageLedger,
  /** Whether an account of that name exists now. */
  accountExists: (name: string) => Promise<boolean>,
): void {
  /** The named account, if it exists and the caller may see it; 404 otherwise, 403 for what is the operator's. */
  const target = async (args: Record<string, unknown>, ctx: CommandContext, operatorOnly: boolean) => {
    const name = args.username;
    if (typeof name !== 'string' || !isValidUsername(name))
      throw new CommandError(ErrorCode.INVALID, USERNAME_RULE);
    const admin = ctx.actor === ADMIN_ACTOR;
    if (!admin && ctx.actor !== name) throw notFound(name);
    if (operatorOnly && !admin)
      throw new CommandError(ErrorCode.FORBIDDEN, 'only the operator sets quotas and recounts them');
    if (!(await accountExists(name))) throw notFound(name);
    return name;
  };

  router
    .register('quota.get', async (args, ctx) => ledger.view(await target(args, ctx, false)))
    .register('quota.put', async (args, ctx) => ledger.setLimits(await target(args, ctx, true), args.quota))
    .register('quota.recount', async (args, ctx) => ledger.recount(await target(args, ctx, true)));
}

const notFound = (name: string) => new CommandError(ErrorCode.NOT_FOUND, `no user named ${name}`);
