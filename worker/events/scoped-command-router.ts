/**
 * A CommandRouter that runs each command inside `commandScope`, so code deep in a service (an event's
 * actor) knows who runs the command without taking it as an argument.
 */
import { type CommandContext, CommandRouter } from '../command-router.ts';
import { commandScope } from './command-scope.ts';

export class ScopedCommandRouter extends CommandRouter {
  override execute(command: string, args: Record<string, unknown>, ctx: CommandContext) {
    return commandScope.run({ actor: ctx.actor, requestId: ctx.requestId }, () =>
      super.execute(command, args, ctx),
    );
  }
}
