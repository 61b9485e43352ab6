/** The `users` service's commands: argument shapes in, UsersService calls out. */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import type { UsersService, WriteConditions } from './users-service.ts';

export const USERS_SERVICE = 'users';

export function registerUserCommands(router: CommandRouter, users: UsersService): void {
  router
    .register('users.get', async (args) => users.get(username(args)))
    .register('users.put', async (args) => users.put(username(args), args.profile, conditions(args)))
    .register('users.patch', async (args) => users.patch(username(args), args.patch, conditions(args)))
    .register('users.delete', async (args) => {
      await users.delete(username(args), conditions(args));
      return null;
    });
}

function username(args: Record<string, unknown>): string {
  if (typeof args.username !== 'string') throw new CommandError(ErrorCode.INVALID, 'username is required');
  return args.username;
}

function conditions(args: Record<string, unknown>): WriteConditions {
  const out: WriteConditions = {};
  if (typeof args.ifMatch === 'string') out.ifMatch = args.ifMatch;
  if (args.ifNoneMatch === '*') out.ifNoneMatch = '*';
  return out;
}
