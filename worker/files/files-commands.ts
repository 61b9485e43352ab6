/**
 * The `files` service's commands. Uploads and downloads are streams (see protocol/README.md, "Streams"):
 * the bytes move as data parts under credit-based flow control, so memory per transfer is bounded.
 */

import { pack } from '../../protocol/codec.ts';
import { textArg as text } from '../../protocol/command-args.ts';
import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { CONDITIONAL_HEADER_NAMES, type ConditionalHeaders } from '../../protocol/preconditions.ts';
import type { AccessService } from '../access/access-service.ts';
import type { CommandContext, CommandRouter } from '../command-router.ts';
import type { IdempotencyGuard } from '../idempotency/idempotency-guard.ts';
import { idempotentPost } from '../idempotency/idempotent-post.ts';
import { inboundBody } from '../streams/inbound-body.ts';
import { sendBody } from '../streams/outbound-body.ts';
import type { FilesService } from './files-service.ts';

export const FILES_SERVICE = SERVICES.files;

export interface StreamSettings {
  /** Data parts an uploading client may have in flight. */
  uploadWindow: number;
  /** Largest data part the worker sends. */
  chunkBytes: number;
  /** A stream with no part from the client for this long is abandoned. */
  idleMs: number;
  maxFileBytes: number;
}

export function registerFileCommands(
  router: CommandRouter,
  files: FilesService,
  access: AccessService,
  settings: StreamSettings,
  /** Honours `idempotencyKey` on files.post (worker/idempotency/); without it the key is ignored. */
  idempotency?: IdempotencyGuard,
): void {
  const upload = (ctx: CommandContext) =>
    inboundBody(ctx.channel, {
      window: settings.uploadWindow,
      idleMs: settings.idleMs,
      maxBytes: settings.maxFileBytes,
    });
  /** Runs a command, recorded in the owner's audit log when someone else asks. */
  const audited = <T>(
    action: string,
    args: Record<string, unknown>,
    ctx: CommandContext,
    work: () => Promise<T>,
  ) =>
    access.audited(
      ctx.actor,
      text(args, 'owner'),
      action,
      optionalText(args, 'path') ?? optionalText(args, 'dir'),
      ctx.requestId,
      work,
    );

  router
    .register('files.info', async (args, ctx) =>
      audited('read', args, ctx, () => files.info(ctx.actor, text(args, 'owner'), text(args, 'path'))),
    )
    .register('files.list', async (args, ctx) =>
      audited('list', args, ctx, () =>
        files.list(ctx.actor, text(args, 'owner'), optionalText(args, 'dir') ?? '', {
          ...(optionalText(args, 'cursor') === undefined ? {} : { cursor: optionalText(args, 'cursor') }),
          ...(typeof args.limit === 'number' ? { limit: args.limit } : {}),
        }),
      ),
    )
    .register('files.get', async (args, ctx) =>
      audited('read', args, ctx, async () => {
        const result = await files.openRead(ctx.actor, text(args, 'owner'), text(args, 'path'), {
          ...(optionalText(args, 'range') === undefined ? {} : { range: optionalText(args, 'range') }),
          conditions: conditions(args),
        });
        const { body: _body, ...meta } = result as typeof result & { body?: unknown };
        await ctx.channel.sendPart('meta', pack(meta));
        if (result.status !== 200 && result.status !== 206) return { bytes: 0 };
        const window = typeof args.window === 'number' && args.window >= 1 ? Math.min(args.window, 1024) : 8;
        const bytes = await sendBody(ctx.channel, result.body, {
          initialCredit: window,
          chunkBytes: settings.chunkBytes,
          idleMs: settings.idleMs,
        });
        return { bytes };
      }),
    )
    .register('files.put', async (args, ctx) =>
      audited('write', args, ctx, async () => {
        const plan = await files.planWrite({
          owner: text(args, 'owner'),
          path: text(args, 'path'),
          contentType: optionalText(args, 'contentType') ?? 'application/octet-stream',
          author: ctx.actor,
          conditions: conditions(args),
          declaredBytes: declaredBytes(args),
        });
        return files.commitWrite(plan, upload(ctx));
      }),
    )
    .register('files.post', async (args, ctx) =>
      audited('create', args, ctx, () =>
        idempotentPost(idempotency, args, ctx.actor, upload(ctx), async (body) => {
          const plan = await files.planPost({
            owner: text(args, 'owner'),
            dir: optionalText(args, 'dir') ?? '',
            slug: optionalText(args, 'slug'),
            contentType: optionalText(args, 'contentType') ?? 'application/octet-stream',
            author: ctx.actor,
            declaredBytes: declaredBytes(args),
          });
          return files.commitWrite(plan, body);
        }),
      ),
    )
    .register('files.patch', async (args, ctx) =>
      audited('patch', args, ctx, () =>
        files.patch(ctx.actor, text(args, 'owner'), text(args, 'path'), args.patch, conditions(args), {
          redelivered: ctx.redelivered,
        }),
      ),
    )
    .register('files.delete', async (args, ctx) =>
      audited('delete', args, ctx, async () => {
        try {
          await files.delete(ctx.actor, text(args, 'owner'), text(args, 'path'), conditions(args), {
            takeOverClaim: ctx.redelivered,
          });
        } catch (error) {
          // Sent again after its worker died: finding nothing, that worker most likely deleted it.
          const gone = error instanceof CommandError && error.code === ErrorCode.NOT_FOUND;
          if (!(ctx.redelivered && gone)) throw error;
        }
        return null;
      }),
    );
}

function optionalText(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  return typeof value === 'string' ? value : undefined;
}

/** The upload's Content-Length as the api saw it, if any. */
function declaredBytes(args: Record<string, unknown>): number | undefined {
  const value = args.declaredBytes;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** The request's conditional headers (their text), from `args.conditions`; anything else is ignored. */
function conditions(args: Record<string, unknown>): ConditionalHeaders {
  const given = args.conditions;
  const out: ConditionalHeaders = {};
  if (typeof given !== 'object' || given === null) return out;
  for (const name of Object.keys(CONDITIONAL_HEADER_NAMES) as (keyof ConditionalHeaders)[]) {
    const value = (given as Record<string, unknown>)[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
