/**
 * Domain events: what a worker publishes on NATS after a committed change, the subject each goes to,
 * and the filters (folder prefix, kinds) that event streams and webhooks apply. Pure: no sockets.
 * The scheme is described in protocol/events/README.md.
 */
import { isValidUsername } from '../names.ts';

export const EVENT_KINDS = [
  'user.created',
  'user.updated',
  'user.patched',
  'user.deleted',
  'file.created',
  'file.updated',
  'file.patched',
  'file.deleted',
  'grant.changed',
  'token.revoked',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const kinds = new Set<string>(EVENT_KINDS);
export const isEventKind = (text: string): text is EventKind => kinds.has(text);

/** The JetStream stream that keeps every event, and the subjects it holds. */
export const EVENTS_STREAM = 'PODSTORE_EVENTS';
export const EVENT_SUBJECT_ROOT = 'podstore.events';
export const ALL_EVENTS_SUBJECT = `${EVENT_SUBJECT_ROOT}.>`;

/** One committed change, as published. */
export interface PodEvent {
  /** Unique id (a UUID), also the JetStream message id, so a re-published event is stored once. */
  id: string;
  /** When the change was committed (ISO 8601). */
  time: string;
  kind: EventKind;
  /** Username of the pod the change happened in. */
  owner: string;
  /**
   * The incarnation id of the owner's account when the change was made: a later account that takes the
   * same name has another, and never sees this event. Absent on events published before incarnations.
   */
  incarnation?: string;
  /** Who made the change; null for a change no caller made (a system action). */
  actor: string | null;
  /** The file's path in the pod, for file events. */
  path?: string;
  /** The new version; absent when the thing was deleted. */
  etag?: string;
}

/** An event as subscribers see it: with its position in the stream (the SSE id, the resume point). */
export interface SequencedEvent extends PodEvent {
  seq: number;
}

/** `podstore.events.<owner>.<kind>`, e.g. `podstore.events.alice.user.patched`. */
export function eventSubject(owner: string, kind: EventKind): string {
  if (!isValidUsername(owner)) throw new TypeError(`not a username: ${owner}`);
  return `${EVENT_SUBJECT_ROOT}.${owner}.${kind}`;
}

/** The subjects to consume for one owner's events: all of them, or only the given kinds. */
export function ownerSubjects(owner: string, only: readonly EventKind[] = []): string[] {
  if (!isValidUsername(owner)) throw new TypeError(`not a username: ${owner}`);
  if (only.length === 0) return [`${EVENT_SUBJECT_ROOT}.${owner}.>`];
  return [...new Set(only)].map((kind) => eventSubject(owner, kind));
}

/**
 * True when the event belongs to the account incarnation `account` (its id and creation time): tagged
 * with that id, or, untagged (published before incarnations), not older than the account.
 */
export function ofIncarnation(event: PodEvent, account: { id: string; createdAt: string }): boolean {
  if (event.incarnation !== undefined) return event.incarnation === account.id;
  return Date.parse(event.time) >= Date.parse(account.createdAt);
}

export interface EventFilter {
  /** A folder of the pod: matches the folder itself and everything under it. Empty: everything. */
  prefix?: string;
  /** Empty: every kind. */
  kinds?: readonly EventKind[];
}

/** Parses a comma list of kinds (`user.created,file.deleted`); throws on an unknown one. */
export function parseKinds(text: string | undefined): EventKind[] {
  if (text === undefined || text.trim() === '') return [];
  const out: EventKind[] = [];
  for (const part of text.split(',')) {
    const kind = part.trim();
    if (!isEventKind(kind))
      throw new TypeError(`unknown event kind "${kind}"; known: ${EVENT_KINDS.join(', ')}`);
    if (!out.includes(kind)) out.push(kind);
  }
  return out;
}

/** `/docs/`, `docs/` and `docs` all name the folder `docs`; `''` and `/` name the whole pod. */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * True when the event passes the filter. A prefix matches the path equal to it and paths under it as a
 * folder (`docs` matches `docs/a.pdf`, not `docs-old/a.pdf`); events without a path (user, grant,
 * token events) never match a non-empty prefix.
 */
export function matchesFilter(event: PodEvent, filter: EventFilter): boolean {
  if (filter.kinds !== undefined && filter.kinds.length > 0 && !filter.kinds.includes(event.kind))
    return false;
  const prefix = normalizePrefix(filter.prefix);
  if (prefix === '') return true;
  if (event.path === undefined) return false;
  return event.path === prefix || event.path.startsWith(`${prefix}/`);
}

export function encodeEvent(event: PodEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/** Parses a published event; throws TypeError when the bytes are not one. */
export function decodeEvent(bytes: Uint8Array): PodEvent {
  const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<PodEvent> | null;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof value.id !== 'string' ||
    typeof value.time !== 'string' ||
    typeof value.kind !== 'string' ||
    !isEventKind(value.kind) ||
    typeof value.owner !== 'string' ||
    !(value.incarnation === undefined || typeof value.incarnation === 'string') ||
    !(value.actor === null || typeof value.actor === 'string') ||
    !(value.path === undefined || typeof value.path === 'string') ||
    !(value.etag === undefined || typeof value.etag === 'string')
  ) {
    throw new TypeError('not a podstore event');
  }
  const { id, time, kind, owner, incarnation, actor, path, etag } = value;
  return {
    id,
    time,
    kind,
    owner,
    ...(incarnation === undefined ? {} : { incarnation }),
    actor,
    ...(path === undefined ? {} : { path }),
    ...(etag === undefined ? {} : { etag }),
  };
}
