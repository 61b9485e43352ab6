/**
 * Who may see which event on an event stream. Requests are anonymous until the accounts issue lands,
 * so today every event of the pod is shown to whoever asks. The permissions issue narrows this to the
 * owner (every event of the pod) and grantees (events whose path lies in a scope they can read).
 */
import type { PodEvent } from '../../protocol/events/event.ts';

export function canSeeEvent(_principal: string | null, _owner: string, _event: PodEvent): boolean {
  return true;
}
