/** Reading a command's arguments in a handler: a missing or mistyped one is INVALID, never a crash. */
import { CommandError, ErrorCode } from './outcome.ts';

/** `args[name]` as a string; INVALID (`<name> is required`) when it is not one. */
export function textArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new CommandError(ErrorCode.INVALID, `${name} is required`);
  return value;
}
