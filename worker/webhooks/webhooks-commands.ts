/** The `webhooks` service's commands: argument shapes in, WebhooksService calls out. */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import type { WebhooksService } from './webhooks-service.ts';

export const WEBHOOKS_SERVICE = 'webhooks';

export function registerWebhookCommands(router: CommandRouter, webhooks: WebhooksService): void {
  router
    .register('webhooks.put', async (args) =>
      webhooks.put(text(args, 'owner'), text(args, 'id'), args.webhook),
    )
    .register('webhooks.get', async (args) => webhooks.get(text(args, 'owner'), text(args, 'id')))
    .register('webhooks.list', async (args) => webhooks.list(text(args, 'owner')))
    .register('webhooks.delete', async (args) => {
      await webhooks.delete(text(args, 'owner'), text(args, 'id'));
      return null;
    });
}

function text(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new CommandError(ErrorCode.INVALID, `${name} is required`);
  return value;
}
