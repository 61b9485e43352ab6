/** The `webhooks` service's commands: argument shapes in, WebhooksService calls out. */

import { textArg as text } from '../../protocol/command-args.ts';
import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import type { WebhooksService } from './webhooks-service.ts';

export const WEBHOOKS_SERVICE = SERVICES.webhooks;

export function registerWebhookCommands(router: CommandRouter, webhooks: WebhooksService): void {
  router
    .register('webhooks.put', async (args, ctx) =>
      webhooks.put(ownerOnly(args, ctx.actor), text(args, 'id'), args.webhook),
    )
    .register('webhooks.get', async (args, ctx) => webhooks.get(ownerOnly(args, ctx.actor), text(args, 'id')))
    .register('webhooks.list', async (args, ctx) => webhooks.list(ownerOnly(args, ctx.actor)))
    .register('webhooks.delete', async (args, ctx) => {
      await webhooks.delete(ownerOnly(args, ctx.actor), text(args, 'id'));
      return null;
    });
}

/** Webhooks belong to the pod's owner: nobody else sees or changes them. */
function ownerOnly(args: Record<string, unknown>, actor: string | null): string {
  const owner = text(args, 'owner');
  if (actor !== owner)
    throw new CommandError(ErrorCode.FORBIDDEN, 'only the owner manages the webhooks of a pod');
  return owner;
}
