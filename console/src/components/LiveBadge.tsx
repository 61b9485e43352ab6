import type { LiveState } from '../live/event-stream.ts';

const TEXT: Record<LiveState, string> = {
  connecting: 'connecting to live updates…',
  live: 'live',
  off: 'live updates off',
};

/** Whether the view updates by itself. */
export function LiveBadge({ state, why }: { state: LiveState; why?: string | undefined }) {
  return (
    <span class={`badge live-${state}`} role="status" title={why} data-live={state}>
      {TEXT[state]}
      {state === 'off' && why !== undefined ? `: ${why}` : ''}
    </span>
  );
}
