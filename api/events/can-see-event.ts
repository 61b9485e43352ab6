/**
 * Who may see which event on an event stream: the owner sees every event of the pod; a grantee sees the
 * file events whose path lies in a scope it can read (its view, asked of the workers and refreshed every
 * second, so a revoked grant stops the flow within a second); anyone else cannot open the stream.
 */
import type { PodEvent } from '../../protocol/events/event.ts';

export interface EventView {
  all: boolean;
  /** Folder scopes (`/medical/`) the watcher can read, when not `all`. */
  scopes: string[];
}

export function canSeeEvent(view: EventView, event: PodEvent): boolean {
  if (view.all) return true;
  if (event.path === undefined || !event.kind.startsWith('file.')) return false;
  return view.scopes.some((scope) => `/${event.path}`.startsWith(scope));
}
