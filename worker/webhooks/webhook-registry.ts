/**
 * An owner's webhooks in one document, `users/<owner>/webhooks.json`: every event of the pod asks which
 * webhooks want it, so that answer costs one GET (a small document, `{"hooks":[]}` for most owners), not
 * a LIST of the owner's webhook folders and a GET per webhook. Changes are read-modify-writes
 * conditional on the version read, retried when another worker wrote first; so the per-owner limit holds
 * under concurrent creations, which a count of folders before a write did not guarantee.
 *
 * Each webhook's delivery outcomes stay in its own folder (`users/<owner>/webhooks/<id>/deliveries.json`):
 * they change with every delivery, the registry only when the owner changes a webhook.
 *
 * Deployments from before the registry kept each webhook in `users/<owner>/webhooks/<id>/config.json`.
 * The first read that finds no registry reads those (one LIST), writes the registry with them (an empty
 * one when there are none, so the LIST happens once per owner), then removes the old copies. The registry
 * names the copies still to remove (`legacy`) until they are gone: a worker that dies between writing it
 * and removing them leaves the list, and the next read of the registry (every event reads it) finishes
 * the removal and writes the registry without it. Every write goes through the pod's account guard:
 * nothing is written for an account erased meanwhile.
 */
import type { EventKind } from '../../protocol/events/event.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import type { Observation, PodWriteGuard } from '../users/incarnation.ts';
import { userPrefix } from '../users/users-service.ts';

export interface StoredWebhook {
  id: string;
  owner: string;
  url: string;
  prefix: string;
  kinds: EventKind[];
  secret: string;
  /** The owner account's incarnation: the webhook gets only that account's events. */
  ownerIncarnation?: string;
  createdAt: string;
  updatedAt: string;
}

export const registryKey = (owner: string) => `${userPrefix(owner)}webhooks.json`;
/** Where each webhook's folder is (its delivery outcomes; before the registry, its config too). */
export const hooksPrefix = (owner: string) => `${userPrefix(owner)}webhooks/`;
const LEGACY_CONFIG = '/config.json';

/** Conditional writes tried before a change gives up (CONFLICT). */
const MAX_ATTEMPTS = 8;

interface Loaded {
  hooks: StoredWebhook[];
  /** The registry's version; undefined when there is none yet (the hooks then come from `legacy`). */
  etag: string | undefined;
  /**
   * Webhook configs from before the registry, to remove once the registry holds them: listed when there
   * is no registry yet, else the ones the registry says are still to remove.
   */
  legacy: string[];
}

/** The registry document. */
interface RegistryDocument {
  hooks: StoredWebhook[];
  /** Old copies (keys) not removed yet; absent once they are gone. */
  legacy?: string[];
}

export class WebhookRegistry {
  constructor(
    private readonly store: ObjectStore,
    private readonly guard?: PodWriteGuard,
  ) {}

  /** The owner's webhooks (one GET once the registry exists). */
  async read(owner: string): Promise<StoredWebhook[]> {
    const loaded = await this.#load(owner);
    // No registry yet, or one whose old copies are not all removed: write it (and remove them).
    if (loaded.etag === undefined || loaded.legacy.length > 0) {
      try {
        await this.#write(owner, undefined, loaded, loaded.hooks);
      } catch (err) {
        // Another worker wrote it first, or the account is gone: what was read is still the answer.
        if (!(err instanceof PreconditionFailedError) && !isGone(err)) throw err;
      }
    }
    return loaded.hooks;
  }

  /**
   * Replaces the owner's webhooks with what `change` makes of them, conditional on the version it was
   * given (called again with the newer one when another writer came first). `change` may throw to refuse.
   */
  async update<T>(
    owner: string,
    seen: Observation | undefined,
    change: (hooks: StoredWebhook[]) => { hooks: StoredWebhook[]; result: T },
  ): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const loaded = await this.#load(owner);
      const { hooks, result } = change(loaded.hooks);
      try {
        await this.#write(owner, seen, loaded, hooks);
        return result;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (attempt + 1)));
      }
    }
    throw new CommandError(
      ErrorCode.CONFLICT,
      `too many concurrent changes to ${owner}'s webhooks; try again`,
    );
  }

  async #load(owner: string): Promise<Loaded> {
    const object = await this.store.get(registryKey(owner));
    if (object !== undefined) {
      const { hooks, legacy = [] } = JSON.parse(object.body.toString('utf8')) as RegistryDocument;
      return { hooks, etag: object.etag, legacy };
    }
    const { items } = await this.store.list(hooksPrefix(owner), { limit: 1000 });
    const legacy = items.map((i) => i.key).filter((key) => key.endsWith(LEGACY_CONFIG));
    const hooks = await Promise.all(
      legacy.map(async (key) => {
        const config = await this.store.get(key);
        return config === undefined ? undefined : (JSON.parse(config.body.toString('utf8')) as StoredWebhook);
      }),
    );
    return { hooks: hooks.filter((h): h is StoredWebhook => h !== undefined), etag: undefined, legacy };
  }

  /**
   * Writes the registry conditional on `loaded`'s version, under the account guard, naming the old copies
   * still to remove; then removes them, and writes the registry once more without the list.
   */
  async #write(
    owner: string,
    seen: Observation | undefined,
    loaded: Loaded,
    hooks: StoredWebhook[],
  ): Promise<void> {
    const { legacy } = loaded;
    let etag = await this.#put(owner, seen, loaded.etag, legacy.length > 0 ? { hooks, legacy } : { hooks });
    if (legacy.length === 0) return;
    for (const old of legacy) await this.store.delete(old);
    try {
      etag = await this.#put(owner, seen, etag, { hooks });
    } catch (err) {
      // A writer came in between: it carries the list on, and removes the copies (gone already) itself.
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }

  /** One conditional write of the registry (`etag` undefined: it must not exist yet); its new version. */
  async #put(
    owner: string,
    seen: Observation | undefined,
    etag: string | undefined,
    document: RegistryDocument,
  ): Promise<string> {
    const key = registryKey(owner);
    const write = () =>
      this.store.put(key, Buffer.from(JSON.stringify(document)), {
        ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
        contentType: 'application/json',
      });
    // A registry written while its account is being erased must not outlive it (incarnation.ts).
    const written =
      this.guard === undefined
        ? await write()
        : await this.guard.write(owner, seen, write, () => this.store.delete(key));
    return written.etag;
  }
}

const isGone = (err: unknown) => err instanceof CommandError && err.code === ErrorCode.NOT_FOUND;
