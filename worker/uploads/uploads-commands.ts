/**
 * The commands of resumable uploads (served by the `files` service's workers): create, info, patch (a
 * stream: the body comes as data parts, like a PUT's), delete. Someone else's upload in a pod is
 * recorded in the owner's audit log: its creation as `upload`, each PATCH as `write`.
 */
import { textArg as text } from '../../protocol/command-args.ts';
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
    args: Record<string, unknown>,
    ctx: CommandContext,
    work: () => Promise<T>,
  ) => access.audited(ctx.actor, text(args, 'owner'), action, pathOf(args), ctx.requestId, work);

  router
    .register('uploads.create', async (args, ctx) =>
      audited('upload', args, ctx, () =>
        uploads.create({
          owner: text(args, 'owner'),
          actor: ctx.actor,
          id: text(args, 'id'),
          path: text(args, 'path'),
          contentType: typeof args.contentType === 'string' ? args.contentType : 'application/octet-stream',
          length: wholeNumber(args, 'length'),
          metadata: metadataOf(args.metadata),
        }),
      ),
    )
    .register('uploads.info', async (args, ctx) =>
      uploads.info(text(args, 'owner'), ctx.actor, text(args, 'id')),
    )
    .register('uploads.patch', async (args, ctx) =>
      audited('write', args, ctx, () =>
        uploads.patch(
          text(args, 'owner'),
          ctx.actor,
          text(args, 'id'),
          wholeNumber(args, 'offset'),
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
      await uploads.terminate(text(args, 'owner'), ctx.actor, text(args, 'id'));
      return null;
    });
}

/** The pod path an audit entry names (the api sends it along when it knows it). */
function pathOf(args: Record<string, unknown>): string | undefined {
  return typeof args.path === 'string' ? args.path : undefined;
}

function wholeNumber(args: Record<string, unknown>, name: string): number {
  const value = args[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new CommandError(ErrorCode.INVALID, `${name} is a whole number`);
  return value;
}

function metadataOf(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

function checksumOf(value: unknown): { algorithm: ChecksumAlgorithm; digest: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { algorithm, digest } = value as { algorithm?: unknown; digest?: unknown };
  if (typeof digest !== 'string' || !CHECKSUM_ALGORITHMS.includes(algorithm as ChecksumAlgorithm))
    throw new CommandError(ErrorCode.INVALID, `a checksum is one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  return { algorithm: algorithm as ChecksumAlgorithm, digest };
}
