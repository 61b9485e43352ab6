/**
 * The `files` service's commands. Uploads and downloads are streams (see protocol/README.md, "Streams"):
 * the bytes move as data parts under credit-based flow control, so memory per transfer is bounded.
 */

import { pack } from '../../protocol/codec.ts';
import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { AccessService } from '../access/access-service.ts';
import type { CommandContext, CommandRouter } from '../command-router.ts';
import type { IdempotencyGuard } from '../idempotency/idempotency-guard.ts';
import { idempotentPost } from '../idempotency/idempotent-post.ts';
import type { PreviewService } from '../processing/preview-service.ts';
import { checkPreviewSize, PREVIEW_SIZES } from '../processing/preview-sizes.ts';
import { PROCESSING_OFF_DETAIL } from '../processing/processing-status.ts';
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
  /**
   * Serves previews and processing states (worker/processing/). Without it (no NATS: no job is ever made)
   * a file's metadata has no `processing`, and a preview is answered processing_off.
   */
  previews?: PreviewService,
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
    args: { owner: string; path?: string; dir?: string },
    ctx: CommandContext,
    work: () => Promise<T>,
  ) => access.audited(ctx.actor, args.owner, action, args.path ?? args.dir, ctx.requestId, work);

  router
    .register('files.info', async (args, ctx) =>
      audited('read', args, ctx, async () => {
        const info = await files.info(ctx.actor, args.owner, args.path, ctx.placement);
        if (args.processing !== true || previews === undefined) return info;
        return { ...info, processing: await previews.status(args.owner, info) };
      }),
    )
    .register('files.preview', async (args, ctx) =>
      audited('read', args, ctx, async () => {
        if (previews === undefined) {
          // The size and the file's own read permission first: a caller who may not read it learns nothing more.
          checkPreviewSize(PREVIEW_SIZES, args.size);
          await files.info(ctx.actor, args.owner, args.path, ctx.placement);
          throw new CommandError(ErrorCode.PROCESSING_OFF, PROCESSING_OFF_DETAIL);
        }
        return previews.preview(ctx.actor, args.owner, args.path, args.size);
      }),
    )
    .register('files.list', async (args, ctx) =>
      audited('list', args, ctx, () =>
        files.list(ctx.actor, args.owner, args.dir ?? '', {
          ...(args.cursor === undefined ? {} : { cursor: args.cursor }),
          ...(args.limit === undefined ? {} : { limit: args.limit }),
        }),
      ),
    )
    .register('files.get', async (args, ctx) =>
      audited('read', args, ctx, async () => {
        const result = await files.openRead(ctx.actor, args.owner, args.path, {
          ...(args.range === undefined ? {} : { range: args.range }),
          conditions: args.conditions ?? {},
          placement: ctx.placement,
        });
        const {
          body: _body,
          bytes: whole,
          ...meta
        } = result as typeof result & { body?: unknown; bytes?: Buffer };
        // An answer without a body (304, 416), or a file that lives in its record and fits one part, goes
        // whole in the command's answer: one message back instead of a meta part, a data part and the end.
        if (result.status !== 200 && result.status !== 206) return { meta };
        if (whole !== undefined && whole.length <= settings.chunkBytes) return { meta, bytes: whole };
        await ctx.channel.sendPart('meta', pack(meta));
        const window = args.window !== undefined && args.window >= 1 ? Math.min(args.window, 1024) : 8;
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
          owner: args.owner,
          path: args.path,
          contentType: args.contentType ?? 'application/octet-stream',
          author: ctx.actor,
          conditions: args.conditions ?? {},
          declaredBytes: args.declaredBytes,
          bodyFollows: true,
          placement: ctx.placement,
        });
        return files.commitWrite(plan, upload(ctx));
      }),
    )
    .register('files.post', async (args, ctx) =>
      audited('create', args, ctx, () =>
        idempotentPost(idempotency, args, ctx.actor, upload(ctx), async (body) => {
          const plan = await files.planPost({
            owner: args.owner,
            dir: args.dir ?? '',
            slug: args.slug,
            contentType: args.contentType ?? 'application/octet-stream',
            author: ctx.actor,
            declaredBytes: args.declaredBytes,
          });
          return files.commitWrite(plan, body);
        }),
      ),
    )
    .register('files.patch', async (args, ctx) =>
      audited('patch', args, ctx, () =>
        files.patch(ctx.actor, args.owner, args.path, args.patch, args.conditions ?? {}, {
          redelivered: ctx.redelivered,
        }),
      ),
    )
    .register('files.delete', async (args, ctx) =>
      audited('delete', args, ctx, async () => {
        try {
          await files.delete(ctx.actor, args.owner, args.path, args.conditions ?? {}, {
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
