/** The `webhooks` service's commands: argument shapes in, WebhooksService calls out. */

import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import type { WebhooksService } from './webhooks-service.ts';

export const WEBHOOKS_SERVICE = SERVICES.webhooks;

export function registerWebhookCommands(router: CommandRouter, webhooks: WebhooksService): void {
  router
    .register('webhooks.put', async (args, ctx) =>
      webhooks.put(ownerOnly(args, ctx.actor), args.id, args.webhook),
    )
    .register('webhooks.get', async (args, ctx) => webhooks.get(ownerOnly(args, ctx.actor), args.id))
    .register('webhooks.list', async (args, ctx) => webhooks.list(ownerOnly(args, ctx.actor)))
    .register('webhooks.delete', async (args, ctx) => {
      await webhooks.delete(ownerOnly(args, ctx.actor), args.id);
      return null;
    });
}

/** Webhooks belong to the pod's owner: nobody else sees or changes them. */
function ownerOnly(args: { owner: string }, actor: string | null): string {
  const owner = args.owner;
  if (actor !== owner)
    throw new CommandError(ErrorCode.FORBIDDEN, 'only the owner manages the webhooks of a pod');
  return owner;
}
