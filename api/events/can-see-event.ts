/**
 * Who may see which event on an event stream: only events of the pod owner's current account (its
 * incarnation: never those of an earlier account of the same name, nor of a later one); the owner sees
 * all of them; a grantee sees the file events whose path lies in a scope it can read, from the time it
 * got that scope (and had its account) on (its view, asked of the workers and refreshed every second, so
 * a revoked grant or a deleted account stops the flow within a second); anyone else cannot open it.
 */
import { ofIncarnation, type PodEvent } from '../../protocol/events/event.ts';

export interface EventView {
  all: boolean;
  /** Folder scopes (`/medical/`) the watcher can read, when not `all`. */
  scopes: string[];
  /** The owner account's incarnation id and creation time. */
  incarnation: string;
  ownerSince: string;
  /** For a grantee: the earliest event time it may see, by scope. */
  scopeSince?: Record<string, string>;
}

export function canSeeEvent(view: EventView, event: PodEvent): boolean {
  if (!ofIncarnation(event, { id: view.incarnation, createdAt: view.ownerSince })) return false;
  if (view.all) return true;
  if (event.path === undefined || !event.kind.startsWith('file.')) return false;
  const time = Date.parse(event.time);
  return view.scopes.some((scope) => {
    if (!`/${event.path}`.startsWith(scope)) return false;
    const since = view.scopeSince?.[scope];
    return since === undefined || time >= Date.parse(since);
  });
}
