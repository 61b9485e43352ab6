/**
 * Who runs the current command, for code deep in a service that does not take it as an argument
 * (an event's actor, a log line's request id). Set around each command by ScopedCommandRouter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CommandScope {
  actor: string | null;
  requestId: string;
}

export const commandScope = new AsyncLocalStorage<CommandScope>();
