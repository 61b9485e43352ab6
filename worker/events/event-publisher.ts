/**
 * What services call after a committed change: `publish(event)`. The event's id, time and (unless
 * given) actor are filled in here. `noEventPublisher` is used when NATS_URL is empty.
 */
import { randomUUID } from 'node:crypto';
import type { EventKind, PodEvent } from '../../protocol/events/event.ts';
import { commandScope } from './command-scope.ts';

export interface EventInput {
  kind: EventKind;
  owner: string;
  /** The owner account's incarnation; when absent, the publisher looks it up (incarnation.ts). */
  incarnation?: string;
  path?: string;
  etag?: string;
  /** Defaults to the actor of the command being run. */
  actor?: string | null;
}

export interface EventPublisher {
  /** Never rejects, and resolves within about a second even while NATS is away (then it retries later). */
  publish(event: EventInput): Promise<void>;
}

export const noEventPublisher: EventPublisher = { publish: async () => {} };

export function completeEvent(input: EventInput, now: Date = new Date()): PodEvent {
  const { kind, owner, incarnation, path, etag } = input;
  return {
    id: randomUUID(),
    time: now.toISOString(),
    kind,
    owner,
    ...(incarnation === undefined ? {} : { incarnation }),
    actor: input.actor !== undefined ? input.actor : (commandScope.getStore()?.actor ?? null),
    ...(path === undefined ? {} : { path }),
    ...(etag === undefined ? {} : { etag }),
  };
}
