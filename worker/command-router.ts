/**
 * Maps a command name (`users.get`) to its handler and turns whatever happens into an Outcome for the
 * reply: a value, a CommandError's code, `storage_unavailable`, `timeout`, or `internal` (logged).
 */

import { type ArgsOf, checkArgs } from '../protocol/command-args.ts';
import type { CommandName } from '../protocol/commands.ts';
import { CommandError, ErrorCode, type Outcome, type OutcomeError } from '../protocol/outcome.ts';
import type { Placement } from '../protocol/placement.ts';
import type { Logger } from '../runtime/logger.ts';
import { InvalidKeyError, StorageUnavailableError } from './storage/object-store.ts';
import { BodyTooLargeError } from './streams/inbound-body.ts';
import { type RequestChannel, StreamAbortedError } from './streams/request-channel.ts';

export interface CommandContext {
  actor: string | null;
  requestId: string;
  deadline: number;
  /** The broker sent this again after the worker it went to was lost: that worker may have run it. */
  redelivered: boolean;
  logger: Logger;
  /** The request's stream: reply parts out, client parts in (uploads, downloads). */
  channel: RequestChannel;
  /**
   * What the broker said of the command's pod (protocol/placement.ts): whether this worker may answer
   * from its memory of the pod (worker/files/record-cache.ts). Absent for a command of no pod.
   */
  placement?: Placement | undefined;
}

/** A command's handler: its arguments come checked against the catalogue (protocol/command-args.ts). */
export type Handler<C extends CommandName = CommandName> = (
  args: ArgsOf<C>,
  ctx: CommandContext,
) => Promise<unknown>;

type CheckedHandler = (args: Record<string, unknown>, ctx: CommandContext) => Promise<unknown>;

export class CommandRouter {
  readonly #handlers = new Map<string, CheckedHandler>();

  /** `command` must be in the catalogue (protocol/commands.ts); its arguments are checked before `handler` runs. */
  register<C extends CommandName>(command: C, handler: Handler<C>): this {
    this.#handlers.set(command, async (args, ctx) => handler(checkArgs(command, args), ctx));
    return this;
  }

  async execute(command: string, args: Record<string, unknown>, ctx: CommandContext): Promise<Outcome> {
    const handler = this.#handlers.get(command);
    if (handler === undefined) {
      return { ok: false, error: { code: ErrorCode.UNKNOWN_COMMAND, detail: `unknown command ${command}` } };
    }
    const remaining = ctx.deadline - Date.now();
    if (remaining <= 0) return { ok: false, error: { code: ErrorCode.TIMEOUT, detail: 'deadline passed' } };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CommandError(ErrorCode.TIMEOUT, 'deadline passed')), remaining);
    });
    try {
      return { ok: true, value: await Promise.race([handler(args, ctx), deadline]) };
    } catch (err) {
      return { ok: false, error: toError(err, ctx) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function toError(err: unknown, ctx: CommandContext): OutcomeError {
  if (err instanceof CommandError) {
    return {
      code: err.code,
      detail: err.message,
      ...(err.retryAfterS === undefined ? {} : { retryAfterS: err.retryAfterS }),
    };
  }
  if (err instanceof StorageUnavailableError) {
    ctx.logger.warn({ err: err.message, requestId: ctx.requestId }, 'storage unavailable');
    return { code: ErrorCode.STORAGE_UNAVAILABLE, detail: 'storage unavailable' };
  }
  if (err instanceof InvalidKeyError) return { code: ErrorCode.INVALID, detail: err.message };
  if (err instanceof BodyTooLargeError) return { code: ErrorCode.TOO_LARGE, detail: err.message };
  if (err instanceof StreamAbortedError) return { code: ErrorCode.ABORTED, detail: err.message };
  ctx.logger.error({ err, requestId: ctx.requestId }, 'command failed');
  return { code: ErrorCode.INTERNAL, detail: `internal error (request ${ctx.requestId})` };
}
