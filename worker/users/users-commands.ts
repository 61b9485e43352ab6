/**
 * The `users` service's commands: accounts (profiles, sign-up, tokens) and token resolution for the api.
 * Who may do what with an account: its user, and the operator's admin; sign-up is open to anyone or to
 * the admin only (PODSTORE_SIGNUP). Reading someone else's profile answers 404, as for a missing user.
 */

import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { ADMIN_ACTOR } from '../../protocol/tokens.ts';
import type { TokenService } from '../accounts/token-service.ts';
import type { CommandContext, CommandRouter } from '../command-router.ts';
import { type AccountKind, matches, type UsersService, type WriteConditions } from './users-service.ts';

export const USERS_SERVICE = 'users';

export type SignupPolicy = 'open' | 'admin';

export function registerUserCommands(
  router: CommandRouter,
  users: UsersService,
  tokens: TokenService,
  signup: SignupPolicy,
): void {
  const isSelfOrAdmin = (ctx: CommandContext, name: string) =>
    ctx.actor === name || ctx.actor === ADMIN_ACTOR;

  router
    .register('users.get', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name)) throw notFound(name);
      return users.get(name);
    })
    .register('users.put', async (args, ctx) => {
      const name = username(args);
      const current = await users.find(name);
      if (current !== undefined && args.ifNoneMatch === '*') {
        throw new CommandError(ErrorCode.PRECONDITION_FAILED, `${name} exists (If-None-Match: *)`);
      }
      if (current === undefined) {
        if (signup === 'admin' && ctx.actor !== ADMIN_ACTOR) {
          throw new CommandError(ErrorCode.FORBIDDEN, 'sign-up is closed: the operator creates accounts');
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
        result = await users.put(name, args.profile, { ...given, ...guard }, kind(args));
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
    .register('users.delete', async (args, ctx) => {
      const name = username(args);
      if (!isSelfOrAdmin(ctx, name))
        throw new CommandError(ErrorCode.FORBIDDEN, 'only the user can delete their account');
      const current = await users.find(name);
      if (current === undefined) throw notFound(name);
      // Every precondition first: a refused delete must leave the account's tokens alone.
      const { ifMatch } = conditions(args);
      if (!matches(current, ifMatch)) {
        throw new CommandError(ErrorCode.PRECONDITION_FAILED, 'the profile does not match If-Match');
      }
      await tokens.revokeAll(name);
      await users.delete(name, conditions(args));
      return null;
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
      return tokens.list(name);
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
