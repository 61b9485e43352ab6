/**
 * The commands of resumable uploads (served by the `files` service's workers): create, info, patch (a
 * stream: the body comes as data parts, like a PUT's), delete. Someone else's upload in a pod is
 * recorded in the owner's audit log: its creation as `upload`, each PATCH as `write`.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { AccessService } from '../access/access-service.ts';
import type { CommandContext, CommandRouter } from '../command-router.ts';
import type { StreamSettings } from '../files/files-commands.ts';
import { inboundBody } from '../streams/inbound-body.ts';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type UploadsService } from './uploads-service.ts';

export function registerUploadCommands(
  router: CommandRouter,
  uploads: UploadsService,
  access: AccessService,
  settings: StreamSettings,
): void {
  const audited = <T>(
    action: string,
    args: { owner: string; path?: string },
    ctx: CommandContext,
    work: () => Promise<T>,
  ) => access.audited(ctx.actor, args.owner, action, args.path, ctx.requestId, work);

  router
    .register('uploads.create', async (args, ctx) =>
      audited('upload', args, ctx, () =>
        uploads.create({
          owner: args.owner,
          actor: ctx.actor,
          id: args.id,
          path: args.path,
          contentType: args.contentType ?? 'application/octet-stream',
          length: args.length,
          metadata: args.metadata ?? {},
          ...(args.conditions === undefined ? {} : { conditions: args.conditions }),
        }),
      ),
    )
    .register('uploads.info', async (args, ctx) => uploads.info(args.owner, ctx.actor, args.id))
    .register('uploads.patch', async (args, ctx) =>
      audited('write', args, ctx, () =>
        uploads.patch(
          args.owner,
          ctx.actor,
          args.id,
          args.offset,
          inboundBody(ctx.channel, {
            window: settings.uploadWindow,
            idleMs: settings.idleMs,
            maxBytes: settings.maxFileBytes,
          }),
          checksumOf(args.checksum),
        ),
      ),
    )
    .register('uploads.delete', async (args, ctx) => {
      await uploads.terminate(args.owner, ctx.actor, args.id);
      return null;
    });
}

/** The checksum a PATCH names, if one it can compute. */
function checksumOf(
  value: { algorithm: string; digest: string } | undefined,
): { algorithm: ChecksumAlgorithm; digest: string } | undefined {
  if (value === undefined) return undefined;
  const { algorithm, digest } = value;
  if (!CHECKSUM_ALGORITHMS.includes(algorithm as ChecksumAlgorithm))
    throw new CommandError(ErrorCode.INVALID, `a checksum is one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  return { algorithm: algorithm as ChecksumAlgorithm, digest };
}
