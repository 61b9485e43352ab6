/** Every subcommand of the CLI, in the order the help lists them. */
import type { CommandGroup, CommandSpec } from './command.ts';
import { getCommand, lsCommand, putCommand, rmCommand, statCommand } from './file-commands.ts';
import { searchCommand } from './search-command.ts';
import { healthCommand, readyCommand } from './server-commands.ts';
import {
  usersCreateCommand,
  usersDeleteCommand,
  usersGetCommand,
  usersGroup,
  usersPatchCommand,
  usersPutCommand,
} from './user-commands.ts';

export const COMMANDS: readonly CommandSpec[] = [
  usersCreateCommand,
  usersPutCommand,
  usersGetCommand,
  usersPatchCommand,
  usersDeleteCommand,
  putCommand,
  getCommand,
  lsCommand,
  statCommand,
  rmCommand,
  searchCommand,
  healthCommand,
  readyCommand,
];

export const GROUPS: readonly CommandGroup[] = [usersGroup];

export function commandsOf(group: CommandGroup): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group.name} `));
}
