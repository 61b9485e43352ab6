/**
 * The `users` service's commands: accounts (profiles, sign-up, tokens) and token resolution for the api.
 * Who may do what with an account: its user, and the operator's admin; sign-up is open to anyone or to
 * the admin only (PODSTORE_SIGNUP). Reading someone else's profile answers 404, as for a missing user.
 */

import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { ADMIN_ACTOR } from '../../protocol/tokens.ts';
import type { TokenService } from '../accounts/token-service.ts';
import type { CommandContext, CommandRouter } from '../command-router.ts';
import type { ErasureReceipt } from '../erasure/erasure-records.ts';
import type { ErasureService } from '../erasure/erasure-service.ts';
import { type AccountKind, matches, type UsersService, type WriteConditions } from './users-service.ts';

export const USERS_SERVICE = SERVICES.users;

export type SignupPolicy = 'open' | 'admin';

/** What DELETE of an account answers: whether the erasure is complete, and its status. */
export interface AccountDeletion {
  completed: boolean;
  erasure: ErasureReceipt;
}

/** The answer leaves this much of the command's deadline for itself. */
const ANSWER_MARGIN_MS = 2000;

export function registerUserCommands(
  router: CommandRouter,
  users: UsersService,
  tokens: TokenService,
  signup: SignupPolicy,
  erasure: ErasureService,
  /** How long DELETE works on the erasure before answering (ERASURE_INLINE_MS). */
  erasureInlineMs: number,
  /** Drops what this worker remembers of an account it is erasing (PodWriteGuard.forget). */
  forgetAccount: (username: string) => void = () => {},
): void {
  const isSelfOrAdmin = (ctx: CommandContext, name: string) =>
    ctx.actor === name || ctx.actor === ADMIN_ACTOR;

  router
    .register('users.get', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name)) throw notFound(name);
      return users.get(name, ctx.placement);
    })
    .register('users.put', async (args, ctx) => {
      const name = username(args);
      const current = await users.find(name, ctx.placement);
      if (current !== undefined && args.ifNoneMatch === '*') {
        throw new CommandError(ErrorCode.PRECONDITION_FAILED, `${name} exists (If-None-Match: *)`);
      }
      if (current === undefined) {
        if (signup === 'admin' && ctx.actor !== ADMIN_ACTOR) {
          throw new CommandError(ErrorCode.FORBIDDEN, 'sign-up is closed: the operator creates accounts');
        }
        // A deleted account holds its name until nothing of it is left (worker/erasure/).
        if ((await erasure.tombstone(name)) !== undefined) {
          throw new CommandError(
            ErrorCode.CONFLICT,
            `the username ${name} belonged to an account that is being erased; it is free again once that completes`,
            5,
          );
        }
      } else if (!isSelfOrAdmin(ctx, name)) {
        if (ctx.actor === null) throw new CommandError(ErrorCode.CONFLICT, `the username ${name} is taken`);
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can replace their profile');
      }
      // What was checked above must still hold when writing: create only if still absent.
      const given = conditions(args);
      const guard =
        current === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: given.ifMatch ?? current.etag };
      let result: Awaited<ReturnType<UsersService['put']>>;
      try {
        result = await users.put(name, args.profile, { ...given, ...guard }, kind(args), ctx.placement);
      } catch (error) {
        if (
          error instanceof CommandError &&
          error.code === ErrorCode.PRECONDITION_FAILED &&
          given.ifMatch === undefined &&
          given.ifNoneMatch === undefined
        ) {
          throw new CommandError(ErrorCode.CONFLICT, `${name} changed meanwhile; try again`);
        }
        throw error;
      }
      if (!result.created) return result;
      const token = await tokens.issue(name, result.user.createdAt, { label: 'sign-up' });
      return { ...result, token: token.token, tokenId: token.id };
    })
    .register('users.patch', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name))
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can change their profile');
      return users.patch(name, args.patch, conditions(args));
    })
    .register('users.delete', async (args, ctx): Promise<AccountDeletion> => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name))
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can delete their account');
      const current = await users.find(name);
      if (current === undefined) {
        // Asked again (by the operator, or sent again after its worker died): the erasure under way.
        const pending = await erasure.tombstone(name);
        if (pending !== undefined)
          return deletionAnswer(erasure, name, pending.erasureId, erasureInlineMs, ctx);
        if (ctx.redelivered) return { completed: true, erasure: doneReceipt() };
        throw notFound(name);
      }
      // Every precondition first: a refused delete must leave the account alone.
      const { ifMatch } = conditions(args);
      if (!matches(current, ifMatch)) {
        throw new CommandError(ErrorCode.PRECONDITION_FAILED, 'the profile does not match If-Match');
      }
      const tombstone = await erasure.begin(current);
      try {
        return await deletionAnswer(erasure, name, tombstone.erasureId, erasureInlineMs, ctx);
      } finally {
        // Writes on this worker look at the account again from now on (it is gone, or going).
        forgetAccount(name);
      }
    })
    .register('erasure.status', async (args) => {
      if (typeof args.id !== 'string') throw new CommandError(ErrorCode.INVALID, 'id is required');
      const receipt = await erasure.receipt(args.id);
      if (receipt === undefined) throw new CommandError(ErrorCode.NOT_FOUND, `no erasure ${args.id}`);
      return receipt;
    })
    .register('tokens.issue', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name))
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can issue their tokens');
      const user = await users.get(name);
      return tokens.issue(name, user.createdAt, {
        ...(typeof args.label === 'string' ? { label: args.label } : {}),
        ...(args.expiresAt === undefined ? {} : { expiresAt: args.expiresAt as string | null }),
      });
    })
    .register('tokens.list', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name))
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can list their tokens');
      return tokens.list(name, (await users.get(name)).createdAt);
    })
    .register('tokens.revoke', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name))
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can revoke their tokens');
      if (typeof args.id !== 'string') throw new CommandError(ErrorCode.INVALID, 'id is required');
      await tokens.revoke(name, args.id);
      return null;
    })
    .register('auth.resolve', async (args) => {
      if (typeof args.hash !== 'string') throw new CommandError(ErrorCode.INVALID, 'hash is required');
      const found = await tokens.resolve(args.hash, async (name) => (await users.find(name))?.createdAt);
      return found ?? null;
    });
}

/**
 * Works on the erasure until it completes or the budget ends (the account itself always goes before the
 * answer); then the answer, and the rest in the background.
 */
async function deletionAnswer(
  erasure: ErasureService,
  name: string,
  id: string,
  inlineMs: number,
  ctx: CommandContext,
): Promise<AccountDeletion> {
  const budget = Math.max(0, Math.min(inlineMs, ctx.deadline - Date.now() - ANSWER_MARGIN_MS));
  const result = await erasure.run(name, budget);
  if (result === 'paused') erasure.continueInBackground(name);
  if (result === 'busy') {
    // Another worker runs it (a repeated DELETE, or one resumed after its worker died): wait for it to
    // complete within the budget, and in any case for the account to be gone.
    const until = Date.now() + budget;
    while (Date.now() < ctx.deadline - ANSWER_MARGIN_MS) {
      const tombstone = await erasure.tombstone(name);
      if (tombstone === undefined) break;
      if (tombstone.accountGoneAt !== undefined && Date.now() >= until) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const receipt = (await erasure.receipt(id)) ?? {
    id,
    state: result === 'done' ? 'done' : 'erasing',
    requestedAt: new Date().toISOString(),
    completedAt: null,
    objectsRemoved: 0,
  };
  return { completed: receipt.state === 'done', erasure: receipt };
}

function doneReceipt(): ErasureReceipt {
  const now = new Date().toISOString();
  return { id: '', state: 'done', requestedAt: now, completedAt: now, objectsRemoved: 0 };
}

function username(args: Record<string, unknown>): string {
  if (typeof args.username !== 'string') throw new CommandError(ErrorCode.INVALID, 'username is required');
  return args.username;
}

function kind(args: Record<string, unknown>): AccountKind {
  if (args.kind === undefined || args.kind === 'person') return 'person';
  if (args.kind === 'organization') return 'organization';
  throw new CommandError(ErrorCode.INVALID, 'kind is person or organization');
}

function conditions(args: Record<string, unknown>): WriteConditions {
  const out: WriteConditions = {};
  if (typeof args.ifMatch === 'string') out.ifMatch = args.ifMatch;
  if (args.ifNoneMatch === '*') out.ifNoneMatch = '*';
  return out;
}

const notFound = (name: string) => new CommandError(ErrorCode.NOT_FOUND, `no user named ${name}`);
