/**
 * The webhooks service: an owner's webhooks live in the object store, all in one document
 * (webhook-registry.ts, with their secrets), each webhook's last delivery outcomes in a folder of its own,
 * `users/<owner>/webhooks/<id>/deliveries.json`. The URL passes the SSRF guard before it is stored.
 */
import {
  type EventKind,
  matchesFilter,
  normalizePrefix,
  type PodEvent,
  parseKinds,
} from '../../protocol/events/event.ts';
import {
  type DeliveryOutcome,
  isValidWebhookId,
  KEPT_OUTCOMES,
  MAX_PREFIX_LENGTH,
  MAX_SECRET_LENGTH,
  MAX_WEBHOOKS_PER_OWNER,
  MIN_SECRET_LENGTH,
  WEBHOOK_ID_RULE,
  type WebhookView,
} from '../../protocol/events/webhook.ts';
import { isValidUsername, USERNAME_RULE } from '../../protocol/names.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import { type Incarnation, IncarnationReader, type PodWriteGuard } from '../users/incarnation.ts';
import { parseWebhookUrl, type WebhookGuard } from './ssrf-guard.ts';
import { hooksPrefix, type StoredWebhook, WebhookRegistry } from './webhook-registry.ts';

export type { StoredWebhook } from './webhook-registry.ts';

const MAX_ATTEMPTS = 8;
const hookFolder = (owner: string, id: string) => `${hooksPrefix(owner)}${id}/`;
const outcomesKey = (owner: string, id: string) => `${hookFolder(owner, id)}deliveries.json`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

export class WebhooksService {
  readonly #registry: WebhookRegistry;

  constructor(
    private readonly store: ObjectStore,
    private readonly ssrf: WebhookGuard,
    private readonly clock: () => Date = () => new Date(),
    guard?: PodWriteGuard,
  ) {
    this.#registry = new WebhookRegistry(store, guard);
  }

  /** Creates (created: true) or replaces a webhook. */
  async put(owner: string, id: string, body: unknown): Promise<{ created: boolean; webhook: WebhookView }> {
    const account = await this.#checkOwner(owner, id);
    const spec = checkSpec(body);
    const url = invalidOnTypeError(() => parseWebhookUrl(spec.url));
    const verdict = await this.ssrf.check(url);
    if (!verdict.ok) throw new CommandError(ErrorCode.INVALID, verdict.reason);
    const { hook, created } = await this.#registry.update(owner, undefined, (hooks) => {
      const previous = hooks.find((h) => h.id === id);
      if (previous === undefined && hooks.length >= MAX_WEBHOOKS_PER_OWNER) {
        throw new CommandError(ErrorCode.CONFLICT, `an owner has at most ${MAX_WEBHOOKS_PER_OWNER} webhooks`);
      }
      const now = this.clock().toISOString();
      const hook: StoredWebhook = {
        id,
        owner,
        url: url.href,
        prefix: spec.prefix,
        kinds: spec.kinds,
        secret: spec.secret,
        ownerIncarnation: account.id,
        createdAt: previous?.createdAt ?? now,
        updatedAt: now,
      };
      return {
        hooks: previous === undefined ? [...hooks, hook] : hooks.map((h) => (h.id === id ? hook : h)),
        result: { hook, created: previous === undefined },
      };
    });
    if (created) await this.store.delete(outcomesKey(owner, id)); // a former namesake's
    return { created, webhook: await this.#view(hook) };
  }

  async get(owner: string, id: string): Promise<WebhookView> {
    await this.#checkOwner(owner, id);
    const hook = await this.read(owner, id);
    if (hook === undefined) throw notFound(owner, id);
    return this.#view(hook);
  }

  async list(owner: string): Promise<{ items: WebhookView[] }> {
    await this.#checkOwner(owner);
    const hooks = await this.#registry.read(owner);
    return { items: await Promise.all(hooks.map((hook) => this.#view(hook))) };
  }

  async delete(owner: string, id: string): Promise<void> {
    await this.#checkOwner(owner, id);
    await this.#registry.update(owner, undefined, (hooks) => {
      if (!hooks.some((h) => h.id === id)) throw notFound(owner, id);
      return { hooks: hooks.filter((h) => h.id !== id), result: undefined };
    });
    await this.store.deletePrefix(hookFolder(owner, id));
  }

  /** The webhook with its secret, or undefined. */
  async read(owner: string, id: string): Promise<StoredWebhook | undefined> {
    return (await this.#registry.read(owner)).find((h) => h.id === id);
  }

  /** The owner's webhooks that want this event (never those of another account of the same name). */
  async matching(event: PodEvent): Promise<StoredWebhook[]> {
    if (!isValidUsername(event.owner)) return [];
    return (await this.#registry.read(event.owner)).filter((hook) => wants(hook, event));
  }

  /**
   * Adds an outcome to the webhook's last ones (best effort under contention; skipped once it is gone,
   * and never written to another webhook of the same id, such as a later account's).
   */
  async recordOutcome(hook: StoredWebhook, outcome: DeliveryOutcome): Promise<void> {
    const { owner, id } = hook;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.read(owner, id);
      if (stored === undefined || stored.createdAt !== hook.createdAt) return;
      if (stored.ownerIncarnation !== hook.ownerIncarnation) return;
      const current = await this.store.get(outcomesKey(owner, id));
      const items = current === undefined ? [] : (JSON.parse(current.body.toString()) as DeliveryOutcome[]);
      try {
        await this.store.put(outcomesKey(owner, id), json([outcome, ...items].slice(0, KEPT_OUTCOMES)), {
          ...(current === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: current.etag }),
          contentType: 'application/json',
        });
        return;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
      }
    }
  }

  async #view(hook: StoredWebhook): Promise<WebhookView> {
    const object = await this.store.get(outcomesKey(hook.owner, hook.id));
    const deliveries = object === undefined ? [] : (JSON.parse(object.body.toString()) as DeliveryOutcome[]);
    const { id, url, prefix, kinds, createdAt, updatedAt } = hook;
    return { id, url, prefix, kinds, createdAt, updatedAt, deliveries };
  }

  async #checkOwner(owner: string, id?: string): Promise<Incarnation> {
    if (!isValidUsername(owner)) throw new CommandError(ErrorCode.INVALID, USERNAME_RULE);
    if (id !== undefined && !isValidWebhookId(id)) throw new CommandError(ErrorCode.INVALID, WEBHOOK_ID_RULE);
    const account = await new IncarnationReader(this.store).current(owner);
    if (account === undefined) throw new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner}`);
    return account;
  }
}

/**
 * True when the webhook wants the event: of the account the webhook was made for (an event or a webhook
 * from before incarnations is judged by time), and passing its filters.
 */
export function wants(hook: StoredWebhook, event: PodEvent): boolean {
  if (!matchesFilter(event, hook)) return false;
  if (hook.ownerIncarnation !== undefined && event.incarnation !== undefined)
    return hook.ownerIncarnation === event.incarnation;
  return Date.parse(event.time) >= Date.parse(hook.createdAt);
}

function checkSpec(body: unknown): { url: string; prefix: string; kinds: EventKind[]; secret: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CommandError(ErrorCode.INVALID, 'a webhook is a JSON object {url, secret, prefix?, kinds?}');
  }
  const { url, secret, prefix, kinds } = body as Record<string, unknown>;
  if (typeof url !== 'string') throw new CommandError(ErrorCode.INVALID, 'url is required');
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH) {
    throw new CommandError(
      ErrorCode.INVALID,
      `secret is required: ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters`,
    );
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length > MAX_PREFIX_LENGTH)) {
    throw new CommandError(
      ErrorCode.INVALID,
      `prefix is a folder path of at most ${MAX_PREFIX_LENGTH} characters`,
    );
  }
  if (kinds !== undefined && (!Array.isArray(kinds) || kinds.some((k) => typeof k !== 'string'))) {
    throw new CommandError(ErrorCode.INVALID, 'kinds is a list of event kinds');
  }
  try {
    return {
      url,
      secret,
      prefix: normalizePrefix(prefix as string | undefined),
      kinds: parseKinds(((kinds as string[] | undefined) ?? []).join(',')),
    };
  } catch (err) {
    throw new CommandError(ErrorCode.INVALID, (err as Error).message);
  }
}

function invalidOnTypeError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TypeError) throw new CommandError(ErrorCode.INVALID, err.message);
    throw err;
  }
}

const notFound = (owner: string, id: string) =>
  new CommandError(ErrorCode.NOT_FOUND, `${owner} has no webhook named ${id}`);
